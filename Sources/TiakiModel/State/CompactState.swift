import Dispatch

/// The consent state in the compact layout of a state snapshot: the parts that grow with the ledger (children,
/// consents, notices owed, the lists kept per organisation and per retention day) as binary records over one table
/// of strings, the few others as JSON through their `Codable` conformance.
///
/// A child's id appears in the subjects' keys, in the child and in each of its consents; written once in the
/// table, it is read back as one string shared by all three, so a start allocates it once. Numbers are LEB128
/// varints. Reading checks every length and reference against what is left and stops at the first that does not
/// fit, so a damaged file is refused, never half read.
public enum CompactState {
    /// Writes `state`: the JSON of the small parts, the table of strings, then the binary records.
    public static func encode(_ state: ConsentState, json: (ConsentState) throws -> [UInt8]) rethrows -> [UInt8] {
        var rest = state
        rest.subjects = [:]
        rest.consents = [:]
        rest.consentsByRetention = [:]
        rest.collectionNotices = [:]
        rest.collectionNoticesByOrg = [:]
        rest.collectionNoticesDue = [:]
        rest.withdrawalNotices = [:]
        rest.withdrawalsDue = [:]
        rest.reviews = [:]
        var w = CompactWriter()
        w.bytes(try json(rest))

        var strings = CompactStrings()
        var body = CompactWriter()
        body.int(state.subjects.count)
        for subject in state.subjects.values {
            body.int(strings.id(subject.id))
            body.int(strings.id(subject.org))
            body.int(strings.id(subject.birthMonth))
            body.int(subject.born.map { $0.year } ?? -1)
            body.int(subject.born.map { $0.month } ?? -1)
            body.int(Int(subject.registered))
            body.strings(subject.enrolments, &strings)
            body.ints(subject.consents)
            body.ints(subject.refusals.map { Int($0) })
            if let erased = subject.erased {
                body.int(1)
                body.int(Int(erased.index))
                body.int(strings.id(erased.date))
            } else {
                body.int(0)
            }
        }
        let subjectSection = body.out
        body = CompactWriter()
        body.int(state.consents.count)
        for c in state.consents.values {
            body.int(c.id)
            body.int(strings.id(c.subject))
            for set in [c.purposes, c.information, c.audienceKinds, c.channels, c.storageRegions, c.consenters] {
                body.word(set.bits)
            }
            body.strings(c.audienceOrganisations, &strings)
            body.int(Int(c.retentionUntil.number))
            body.int(Int(c.informed.number))
            body.int(strings.id(c.recordedBy))
            body.int(c.supersedes ?? -1)
            body.int(c.supersededBy ?? -1)
            if let w = c.withdrawn {
                body.int(1)
                body.int(Int(w.index))
                body.int(Int(w.date.number))
                body.int(strings.id(w.by))
            } else {
                body.int(0)
            }
            body.strings(c.notify, &strings)
            body.int(c.acknowledged.count)
            for (org, index) in c.acknowledged.sorted(by: { $0.key < $1.key }) {
                body.int(strings.id(org))
                body.int(Int(index))
            }
        }
        let consentSection = body.out
        body = CompactWriter()
        // The lists that grow with the ledger: ids in order, each written as its difference from the one before.
        body.int(state.consentsByRetention.count)
        for (day, ids) in state.consentsByRetention {
            body.int(Int(day.number))
            body.deltas(ids)
        }
        for lists in [
            state.collectionNoticesByOrg, state.collectionNoticesDue, state.withdrawalNotices, state.withdrawalsDue,
        ] {
            body.int(lists.count)
            for (org, ids) in lists {
                body.int(strings.id(org))
                body.deltas(ids)
            }
        }
        body.int(state.reviews.count)
        for (disclosure, index) in state.reviews {
            body.int(disclosure)
            body.int(Int(index))
        }
        body.int(state.collectionNotices.count)
        for n in state.collectionNotices.values {
            body.int(n.disclosure)
            body.int(strings.id(n.subject))
            body.int(strings.id(n.recipient))
            body.int(strings.id(n.discloser))
            body.int(Int(n.shared.number))
            body.int(Int(n.dueBy.number))
            switch n.outcome {
            case nil: body.int(0)
            case .sent(let index, let by):
                body.int(1)
                body.int(Int(index))
                body.int(strings.id(by))
            case .exception(let index):
                body.int(2)
                body.int(Int(index))
            }
        }
        w.int(strings.list.count)
        for s in strings.list { w.bytes(Array(s.utf8)) }
        // The children and the consents each as a section of known length, so that they are read side by side.
        w.bytes(subjectSection)
        w.bytes(consentSection)
        w.raw(body.out)
        return w.out
    }

    /// Reads what ``encode(_:json:)`` wrote; throws, saying why, when it is damaged or does not fit.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        json: ([UInt8]) throws -> ConsentState
    ) throws(CompactStateError) -> ConsentState {
        var r = CompactReader(bytes)
        var state: ConsentState
        do {
            state = try json(try r.bytes())
        } catch let error as CompactStateError {
            throw error
        } catch {
            throw CompactStateError("its JSON part cannot be read: \(error)")
        }
        let count = try r.count()
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try r.string()) }
        let table = strings
        let subjectSection = Box(CompactReader(try r.section()))
        let consentSection = Box(CompactReader(try r.section()))
        // The two large sections on two threads; each is checked as the whole is.
        let subjectsRead = Box<Result<KeyedTable<String, ConsentState.Subject>, CompactStateError>>()
        let consentsRead = Box<Result<KeyedTable<Int, ConsentState.Consent>, CompactStateError>>()
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            if part == 0, var reader = subjectSection.value {
                subjectsRead.value = Result { () throws(CompactStateError) in try reader.subjects(table) }
            } else if part == 1, var reader = consentSection.value {
                consentsRead.value = Result { () throws(CompactStateError) in try reader.consents(table) }
            }
        }
        guard let subjects = try subjectsRead.value?.get(), let consents = try consentsRead.value?.get() else {
            throw CompactStateError("a section was not read")
        }
        func string() throws(CompactStateError) -> String { try r.string(table) }
        func day() throws(CompactStateError) -> Day { try r.day() }
        func index() throws(CompactStateError) -> UInt64 { try r.index() }
        func deltas() throws(CompactStateError) -> [Int] { try r.deltas() }
        let days = try r.count()
        var byRetention: [Day: [Int]] = [:]
        byRetention.reserveCapacity(days)
        for _ in 0..<days { byRetention[try day()] = try deltas() }
        var orgLists: [[String: [Int]]] = []
        for _ in 0..<4 {
            let n = try r.count()
            var lists: [String: [Int]] = [:]
            lists.reserveCapacity(n)
            for _ in 0..<n { lists[try string()] = try deltas() }
            orgLists.append(lists)
        }
        let reviewCount = try r.count()
        var reviews: [Int: UInt64] = [:]
        reviews.reserveCapacity(reviewCount)
        for _ in 0..<reviewCount { reviews[try r.int()] = try index() }
        let noticeCount = try r.count()
        var notices: [Int: ConsentState.CollectionNotice] = [:]
        notices.reserveCapacity(noticeCount)
        for _ in 0..<noticeCount {
            var notice = ConsentState.CollectionNotice(
                disclosure: try r.int(),
                subject: try string(),
                recipient: try string(),
                discloser: try string(),
                shared: try day(),
                dueBy: try day()
            )
            switch try r.int() {
            case 0: break
            case 1: notice.outcome = .sent(index: try index(), by: try string())
            case 2: notice.outcome = .exception(index: try index())
            default: throw CompactStateError("a notice's outcome is of no known kind")
            }
            notices[notice.disclosure] = notice
        }
        guard r.isAtEnd else { throw CompactStateError("bytes are left over after the last notice") }
        state.subjects = subjects
        state.consents = consents
        state.consentsByRetention = byRetention
        state.collectionNoticesByOrg = orgLists[0]
        state.collectionNoticesDue = orgLists[1]
        state.withdrawalNotices = orgLists[2]
        state.withdrawalsDue = orgLists[3]
        state.reviews = reviews
        state.collectionNotices = notices
        return state
    }

    /// Where a thread of `concurrentPerform` leaves its part.
    private final class Box<T>: @unchecked Sendable {
        var value: T?
        init(_ value: T? = nil) { self.value = value }
    }
}

/// Why a compact state could not be read.
public struct CompactStateError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension CompactReader {
    mutating func subjects(_ table: [String]) throws(CompactStateError) -> KeyedTable<String, ConsentState.Subject> {
        let count = try self.count()
        var subjects: KeyedTable<String, ConsentState.Subject> = [:]
        subjects.reserveCapacity(count)
        for _ in 0..<count {
            let id = try string(table)
            let org = try string(table)
            let birthMonth = try string(table)
            let year = try int()
            let month = try int()
            var subject = ConsentState.Subject(
                id: id,
                org: org,
                birthMonth: birthMonth,
                born: year < 0 || month < 0 ? nil : (year, month),
                registered: try index()
            )
            subject.enrolments = try strings(table)
            subject.consents = try ints()
            subject.refusals = try ints().map { UInt64(max(0, $0)) }
            if try int() == 1 { subject.erased = (try index(), try string(table)) }
            subjects[id] = subject
        }
        guard isAtEnd else { throw CompactStateError("bytes are left over after the last child") }
        return subjects
    }

    mutating func consents(_ table: [String]) throws(CompactStateError) -> KeyedTable<Int, ConsentState.Consent> {
        let count = try self.count()
        var consents: KeyedTable<Int, ConsentState.Consent> = [:]
        consents.reserveCapacity(count)
        for _ in 0..<count {
            let id = try int()
            let subject = try string(table)
            let purposes = CodeSet(bits: try word())
            let information = CodeSet(bits: try word())
            let kinds = CodeSet(bits: try word())
            let channels = CodeSet(bits: try word())
            let regions = CodeSet(bits: try word())
            let consenters = CodeSet(bits: try word())
            var consent = ConsentState.Consent(
                id: id,
                subject: subject,
                purposes: purposes,
                information: information,
                audienceKinds: kinds,
                audienceOrganisations: try strings(table),
                channels: channels,
                storageRegions: regions,
                consenters: consenters,
                retentionUntil: try day(),
                informed: try day(),
                recordedBy: try string(table),
                supersedes: try optional(),
                supersededBy: try optional()
            )
            if try int() == 1 {
                consent.withdrawn = .init(index: try index(), date: try day(), by: try string(table))
            }
            consent.notify = try strings(table)
            let acknowledged = try self.count()
            for _ in 0..<acknowledged { consent.acknowledged[try string(table)] = try index() }
            consents[id] = consent
        }
        guard isAtEnd else { throw CompactStateError("bytes are left over after the last consent") }
        return consents
    }
}
