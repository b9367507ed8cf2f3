/// The first `limit` items of a list, oldest (most urgent) first, and how many there are in all.
public struct Page<Item: Sendable & Encodable>: Sendable, Encodable {
    public var items: [Item]
    public var total: Int
}
