import Foundation
import Hummingbird
import NIOCore
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// Reading what a request brings, strictly: a JSON body decoded into the type the route takes (unknown fields
/// refused, naming the nearest known one), query parameters from a fixed list (each parsed whole into its type,
/// with its range checked), and path parameters parsed as the type they stand for. Nothing from outside reaches
/// an unchecked conversion.
struct RequestInput: Sendable {
    /// The largest body accepted.
    let bodyLimit: Int

    /// Request bodies nest at most this deep and no list in them is longer than this.
    static let maximumDepth = 32
    static let maximumArrayLength = 100
    /// The largest ledger index a caller may name: JSON integers are exact up to 2^53.
    static let maximumIndex: UInt64 = 1 << 53

    // MARK: Bodies

    /// The body as JSON, within the size, depth and list-length limits.
    func json(_ request: Request) async throws -> JSONValue {
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            throw Problem(
                .unsupportedMediaType,
                code: "unsupported-encoding",
                title: "Unsupported content encoding",
                detail: "Send the body as it is (Content-Encoding: identity), not \(encoding)."
            )
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: bodyLimit)
        } catch {
            throw Problem.tooLarge("The request body is larger than \(bodyLimit) bytes.")
        }
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: Self.maximumDepth).parse(Array(buffer.readableBytesView))
        } catch {
            throw Problem.badRequest("the body is not valid JSON: \(error)", code: "malformed-json")
        }
        if let field = Self.overlongArray(in: value, path: "") {
            throw Problem.tooLarge(
                "\(field.isEmpty ? "the body" : field) has more than \(Self.maximumArrayLength) items",
                field: field.isEmpty ? nil : field
            )
        }
        return value
    }

    /// The body decoded as `T`, refusing any field `T` does not have. `noun` names it in messages ("a consent").
    func decode<T: Decodable>(_ type: T.Type, _ request: Request, as noun: String) async throws -> T {
        let value = try await json(request)
        guard case .object = value else { throw Problem.badRequest("the body must be a JSON object (\(noun))") }
        do {
            return try JSONValueDecoder(unknownFields: .refuse(noun: noun)).decode(type, from: value)
        } catch let unknown as UnknownFieldError {
            throw Problem.badRequest(unknown.message, field: unknown.field, code: "unknown-field")
        } catch {
            let (field, message) = JSONValueDecoder.describe(error)
            throw Problem.badRequest(message, field: field.isEmpty ? nil : field)
        }
    }

    /// The body read by `make`, a type's own strict reader (see ``JSONObjectReader``), with the same problems as
    /// ``decode(_:_:as:)``.
    func read<T>(_ request: Request, as noun: String, _ make: (JSONValue, String) throws -> T) async throws -> T {
        let value = try await json(request)
        guard case .object = value else { throw Problem.badRequest("the body must be a JSON object (\(noun))") }
        do {
            return try make(value, noun)
        } catch let unknown as UnknownFieldError {
            throw Problem.badRequest(unknown.message, field: unknown.field, code: "unknown-field")
        } catch {
            let (field, message) = JSONValueDecoder.describe(error)
            throw Problem.badRequest(message, field: field.isEmpty ? nil : field)
        }
    }

    /// For routes that take no body: refuses one that has content.
    func none(_ request: Request) async throws {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 1024)
        } catch {
            throw Problem.tooLarge("This request takes no body.")
        }
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        guard text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || text == "{}" else {
            throw Problem.badRequest("this request takes no body")
        }
    }

    /// The path of the first array longer than the limit, or `nil`.
    static func overlongArray(in value: JSONValue, path: String) -> String? {
        switch value {
        case .array(let items):
            if items.count > maximumArrayLength { return path }
            for (i, item) in items.enumerated() {
                if let found = overlongArray(in: item, path: "\(path)[\(i)]") { return found }
            }
        case .object(let members):
            for key in members.keys.sorted() {
                if let value = members[key],
                    let found = overlongArray(in: value, path: path.isEmpty ? key : "\(path).\(key)")
                {
                    return found
                }
            }
        default: break
        }
        return nil
    }
}

/// The query parameters of one request, checked against the route's list: a parameter the route does not take is
/// refused, naming the nearest it does take.
struct Query: Sendable {
    let parameters: [(name: String, value: String)]

    init(_ request: Request, allowed: [String]) throws {
        var parameters: [(String, String)] = []
        var seen: Set<String> = []
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let hint = nearest(name, in: allowed).map { "; did you mean \($0)?" } ?? ""
                let known = allowed.isEmpty ? "this request takes none" : "it takes \(allowed.joined(separator: ", "))"
                throw Problem.badRequest(
                    "\(name) is not a query parameter here\(hint) (\(known))",
                    field: name,
                    code: "unknown-field"
                )
            }
            guard seen.insert(name).inserted else {
                throw Problem.badRequest("\(name) is given more than once", field: name)
            }
            parameters.append((name, String(value)))
        }
        self.parameters = parameters
    }

    func string(_ name: String, maximumLength: Int = 256) throws -> String? {
        guard let value = parameters.first(where: { $0.name == name })?.value else { return nil }
        guard !value.isEmpty, value.utf8.count <= maximumLength else {
            throw Problem.badRequest("\(name) must be 1 to \(maximumLength) characters", field: name)
        }
        return value
    }

    /// A whole number from 0 to `maximum`, digits only.
    func integer(_ name: String, maximum: UInt64 = RequestInput.maximumIndex) throws -> UInt64? {
        guard let text = parameters.first(where: { $0.name == name })?.value else { return nil }
        return try Path.integer(text, name: name, maximum: maximum)
    }

    /// A date, `YYYY-MM-DD`, parsed whole.
    func day(_ name: String) throws -> Day? {
        guard let text = parameters.first(where: { $0.name == name })?.value else { return nil }
        guard let day = Day(text) else { throw Problem.badRequest("\(name) must be a date, YYYY-MM-DD", field: name) }
        return day
    }

    /// One of `allowed`.
    func choice(_ name: String, from allowed: [String]) throws -> String? {
        guard let text = parameters.first(where: { $0.name == name })?.value else { return nil }
        guard allowed.contains(text) else {
            throw Problem.badRequest("\(name) must be \(allowed.joined(separator: ", ")), not \(text)", field: name)
        }
        return text
    }
}

/// Path parameters, parsed as the type they stand for.
enum Path {
    /// `text` as a whole number from 0 to `maximum`: ASCII digits only, no sign, no spaces.
    static func integer(_ text: String, name: String, maximum: UInt64 = RequestInput.maximumIndex) throws -> UInt64 {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let n = UInt64(text), n <= maximum
        else {
            throw Problem.badRequest("\(name) must be a whole number from 0 to \(maximum)", field: name)
        }
        return n
    }

    /// A ledger index named in the path (a consent or disclosure id).
    static func index(_ context: TiakiRequestContext, _ name: String) throws -> UInt64 {
        try integer(try context.parameters.require(name), name: name)
    }

    /// A consent id named in the path.
    static func consent(_ context: TiakiRequestContext) throws -> Int {
        // At most 2^53: it fits.
        Int(clamping: try index(context, "consent"))
    }
}
