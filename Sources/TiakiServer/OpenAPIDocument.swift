import Foundation

/// The OpenAPI 3.1 document of the service (`openapi.yaml`, a resource of this module), served at
/// `/v1/openapi.yaml`. A test checks that it names exactly the routes the router has.
enum OpenAPIDocument {
    static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            return
                "openapi: 3.1.0\ninfo: {title: Tiaki, version: '1'}\npaths: {}\n# the document was not found in the bundle\n"
        }
        return text
    }()
}
