import Hummingbird
import NIOCore
import TiakiLedger

/// A value that could not be encoded as a response: a fault of Tiaki's, answered 500 and logged, never an empty 2xx.
struct ResponseEncodingError: Error, CustomStringConvertible {
    let type: String
    let underlying: String
    var description: String { "cannot encode \(type): \(underlying)" }
}

/// Responses with JSON, plain-text and pre-encoded bodies.
enum Reply {
    /// `value` as canonical JSON with a final newline.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        var bytes: [UInt8]
        do {
            bytes = try CanonicalJSON.encode(try JSONValueEncoder().encode(value))
        } catch {
            throw ResponseEncodingError(type: String(describing: T.self), underlying: "\(error)")
        }
        bytes.append(0x0A)
        return json(bytes: bytes, status: status)
    }

    /// A JSON value built by hand (a FHIR resource, a JSON-LD record), canonical, with a final newline.
    static func json(value: JSONValue, contentType: String = "application/json") throws -> Response {
        var bytes: [UInt8]
        do {
            bytes = try CanonicalJSON.encode(value)
        } catch {
            throw ResponseEncodingError(type: contentType, underlying: "\(error)")
        }
        bytes.append(0x0A)
        return json(bytes: bytes, contentType: contentType)
    }

    /// A JSON body already encoded.
    static func json(
        bytes: [UInt8],
        status: HTTPResponse.Status = .ok,
        contentType: String = "application/json"
    ) -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func text(_ string: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: string)))
    }
}
