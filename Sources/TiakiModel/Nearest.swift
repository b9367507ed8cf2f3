import TiakiLedger

/// The closest of `candidates` to `word` by edit distance, when it is close enough to be a likely typo.
public func nearest(_ word: String, in candidates: [String]) -> String? { nearestName(word, in: candidates) }
