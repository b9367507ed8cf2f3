/// Writes canonical JSON (RFC 8785) directly, without building a ``JSONValue``, for the types on a hot path.
///
/// The caller writes each object's members in RFC 8785 order (by the UTF-16 code units of their names); a type that
/// does so conforms to ``CanonicalEncodable``, and its tests compare its bytes with ``CanonicalJSON/encode(_:)`` of
/// the same value through the generic encoder.
public struct CanonicalWriter {
    public private(set) var bytes: [UInt8]
    /// Whether the next member or element needs a comma before it.
    private var separated = false

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    private mutating func comma() {
        if separated { bytes.append(UInt8(ascii: ",")) }
    }

    /// An object whose members `body` writes, in canonical order.
    public mutating func object(_ body: (inout CanonicalWriter) -> Void) {
        comma()
        bytes.append(UInt8(ascii: "{"))
        separated = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        separated = true
    }

    /// A member's name; the next call writes its value.
    public mutating func key(_ name: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        separated = false
    }

    public mutating func string(_ s: String) {
        comma()
        CanonicalJSON.appendString(s, to: &bytes)
        separated = true
    }

    public mutating func integer(_ n: some BinaryInteger) {
        comma()
        bytes.append(contentsOf: String(n).utf8)
        separated = true
    }

    public mutating func bool(_ b: Bool) {
        comma()
        bytes.append(contentsOf: (b ? "true" : "false").utf8)
        separated = true
    }

    /// Bytes that are already the canonical JSON of one value.
    public mutating func raw(_ value: [UInt8]) {
        comma()
        bytes.append(contentsOf: value)
        separated = true
    }

    public mutating func value(_ v: some CanonicalEncodable) { v.write(to: &self) }

    public mutating func strings(_ list: [String]) { array(list) { w, s in w.string(s) } }

    public mutating func integers(_ list: [some BinaryInteger]) { array(list) { w, n in w.integer(n) } }

    public mutating func array<T>(_ items: [T], _ each: (inout CanonicalWriter, T) -> Void) {
        comma()
        bytes.append(UInt8(ascii: "["))
        separated = false
        for item in items { each(&self, item) }
        bytes.append(UInt8(ascii: "]"))
        separated = true
    }
}

/// A type that writes its own canonical JSON, members in RFC 8785 order, so that the hot path need not go through
/// `Encodable`.
public protocol CanonicalEncodable {
    func write(to writer: inout CanonicalWriter)
}

extension CanonicalEncodable {
    /// The canonical bytes of the value.
    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter()
        write(to: &writer)
        return writer.bytes
    }
}
