import Foundation
import Testing

@testable import TiakiTemplates
@testable import TiakiWeb

/// The pages' template renderer against the Mustache rules the templates rely on (the cases follow the Mustache
/// spec's interpolation, sections, inverted, partials and comments suites), and the encoder that turns a page
/// model into what templates read.
@Suite("Page templates")
struct PageTemplateTests {
    struct Item: Encodable {
        let label: String
        let checked: Bool
        let note: String?
    }

    struct Model: Encodable {
        let title: String
        let items: [Item]
        let none: [Item]
        let owner: Owner?
        let missing: String?
        let count: Int
    }

    struct Owner: Encodable {
        let name: String
    }

    static let model = Model(
        title: "Kōwhai <School> & \"friends\" 'n'",
        items: [
            Item(label: "a", checked: true, note: "first"),
            Item(label: "b", checked: false, note: nil),
        ],
        none: [],
        owner: Owner(name: "Mere"),
        missing: nil,
        count: 0
    )

    func draw(
        _ text: String,
        partials: [String: String] = [:],
        model: some Encodable = PageTemplateTests.model
    )
        throws -> String
    {
        var library: [String: PageTemplate] = [:]
        for (name, body) in partials { library[name] = try PageTemplate(name: name, text: body) }
        let template = try PageTemplate(name: "t", text: text)
        var out: [UInt8] = []
        template.render(
            PageContext(model: model, w: ["hello": "Kia ora", "x": "<b>"], csrf: "tok").value,
            into: &out,
            library: library
        )
        return String(decoding: out, as: UTF8.self)
    }

    @Test("variables: escaped by default, as written with three braces, missing ones draw nothing")
    func variables() throws {
        #expect(try draw("{{title}}") == "Kōwhai &lt;School&gt; &amp; &quot;friends&quot; &#39;n&#39;")
        #expect(try draw("{{{title}}}") == "Kōwhai <School> & \"friends\" 'n'")
        #expect(try draw("{{&title}}") == "Kōwhai <School> & \"friends\" 'n'")
        #expect(try draw("[{{missing}}][{{nothing.at.all}}]") == "[][]")
        #expect(try draw("{{count}} {{owner.name}} {{w.hello}} {{w.x}} {{csrf}}") == "0 Mere Kia ora &lt;b&gt; tok")
    }

    @Test("sections: over a list once per item, over an object inside it, over a flag, and not over what is empty")
    func sections() throws {
        #expect(try draw("{{#items}}<{{label}}>{{/items}}") == "<a><b>")
        #expect(try draw("{{#items}}{{#checked}}{{label}} is ticked{{/checked}}{{/items}}") == "a is ticked")
        #expect(
            try draw("{{#owner}}{{name}}, of {{title}}{{/owner}}")
                == "Mere, of Kōwhai &lt;School&gt; &amp; &quot;friends&quot; &#39;n&#39;"
        )
        #expect(try draw("{{#none}}x{{/none}}{{#missing}}y{{/missing}}") == "")
        // A name an item lacks is looked for outwards; a dotted name only inside what its first name found.
        #expect(try draw("{{#items}}{{label}}:{{note}};{{/items}}") == "a:first;b:;")
        #expect(try draw("{{#items}}{{w.hello}} {{/items}}") == "Kia ora Kia ora ")
        #expect(try draw("{{#owner}}{{owner.title}}{{/owner}}") == "")
        #expect(try draw("{{#w}}{{hello}}{{/w}}") == "Kia ora")
        // Zero and an empty text are drawn, as swift-mustache drew them.
        #expect(try draw("{{#count}}zero is {{count}}{{/count}}") == "zero is 0")
    }

    @Test("inverted sections draw only over what is false, empty or missing")
    func inverted() throws {
        #expect(try draw("{{^none}}no items{{/none}}{{^items}}never{{/items}}") == "no items")
        #expect(try draw("{{#items}}{{^checked}}{{label}} is not ticked{{/checked}}{{/items}}") == "b is not ticked")
        #expect(try draw("{{^missing}}absent{{/missing}}") == "absent")
    }

    @Test("the value in hand is {{.}}; a partial draws with the same context")
    func implicitAndPartials() throws {
        struct Names: Encodable { let names: [String] }
        #expect(
            try draw("{{#names}}({{.}}){{/names}}", model: Names(names: ["Aroha", "<Ben>"])) == "(Aroha)(&lt;Ben&gt;)"
        )
        #expect(try draw("{{#items}}{{> row}}{{/items}}", partials: ["row": "[{{label}}]"]) == "[a][b]")
    }

    @Test("a section, partial or comment tag alone on its line takes the line; a variable's line stays")
    func standaloneLines() throws {
        let text = """
            <ul>
              {{#items}}
              <li>{{label}}</li>
              {{/items}}
              {{! a comment }}
            </ul>
            {{title}}
            """
        let drawn = try draw(text)
        #expect(drawn.hasPrefix("<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n"))
        #expect(try draw("a\r\n{{#owner}}\r\nb\r\n{{/owner}}\r\nc") == "a\r\nb\r\nc")
        #expect(try draw("  {{#owner}}{{name}}{{/owner}}\n") == "  Mere\n")
        #expect(
            try draw("<textarea>\n{{#owner}}\n{{name}}\n{{/owner}}\n</textarea>") == "<textarea>\nMere\n</textarea>"
        )
    }

    @Test("a template that cannot be drawn is refused when it is parsed, at start")
    func refusals() {
        #expect(throws: PageTemplate.ParseError.self) { try PageTemplate(name: "t", text: "{{#a}}never closed") }
        #expect(throws: PageTemplate.ParseError.self) { try PageTemplate(name: "t", text: "{{#a}}x{{/b}}") }
        #expect(throws: PageTemplate.ParseError.self) { try PageTemplate(name: "t", text: "{{/a}}") }
        #expect(throws: PageTemplate.ParseError.self) { try PageTemplate(name: "t", text: "{{title") }
        #expect(throws: PageTemplate.ParseError.self) { try PageTemplate(name: "t", text: "{{=<% %>=}}") }
    }
}
