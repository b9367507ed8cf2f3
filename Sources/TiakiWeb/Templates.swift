/// The pages' templates (Mustache: every `{{value}}` is HTML-escaped; `{{{body}}}` is only ever a page this
/// library rendered). Words come from ``PageWords`` as `w.*`, in the reader's language.
enum Templates {
    static let all: [String: String] = [
        "layout": layout, "signin": signin, "home": home, "find": find, "register": register, "child": child,
        "consent": consent, "sheet": sheet, "receipt": receipt, "share": share, "answer": answer,
        "findings": findings, "coverage": coverage, "ledger": ledger, "admin": admin, "message": message,
        "report": report, "consentItems": consentItems, "shareFields": shareFields, "notices": notices,
        "breaches": breaches, "breach": breach, "refusal": refusal, "erase": erase,
    ]

    static let layout = """
        <!doctype html>
        <html lang="{{lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Tiaki</title><link rel="stylesheet" href="/assets/tiaki.css"></head>
        <body>
        <a class="skip" href="#main">{{w.skip}}</a>
        <header class="top"><p class="brand"><a href="/">Tiaki</a></p>
        {{#signedIn}}<nav aria-label="{{w.menu}}"><ul>{{#nav}}<li><a href="{{href}}">{{label}}</a></li>{{/nav}}</ul></nav>
        <p class="who">{{who}}</p>
        <form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="link">{{w.signOut}}</button></form>{{/signedIn}}
        <p class="lang"><a href="/language?to={{otherLang}}&amp;back={{back}}" lang="{{otherLang}}" hreflang="{{otherLang}}">{{otherLangName}}</a></p>
        </header>
        <main id="main">
        {{{body}}}
        </main>
        <footer class="bottom">{{#unreviewed}}<p>{{w.unreviewed}}</p>{{/unreviewed}}<p>{{w.footer}}</p></footer>
        </body></html>

        """

    static let errors = """
        {{#hasErrors}}<div class="error-summary" role="alert" tabindex="-1" id="errors" aria-labelledby="errors-title">
        <h2 id="errors-title">{{w.thereIsAProblem}}</h2><ul>{{#errors}}<li><a href="#{{anchor}}">{{field}}: {{message}}</a></li>{{/errors}}</ul></div>{{/hasErrors}}
        """

    static let signin = """
        <h1>{{w.signInTitle}}</h1>
        {{#message}}<div class="error-summary" role="alert" id="errors"><p>{{message}}</p></div>{{/message}}
        <form method="post" action="/sign-in">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><label for="token">{{w.token}}</label>
        <p class="hint" id="token-hint">{{w.tokenHint}}</p>
        <input type="password" id="token" name="token" autocomplete="current-password" aria-describedby="token-hint" required></div>
        <button type="submit">{{w.signIn}}</button>
        </form>
        """

    static let home = """
        <h1>{{w.homeTitle}}</h1>
        <p>{{who}}</p>
        <ul class="tiles">{{#nav}}<li><a href="{{href}}">{{label}}</a><p>{{hint}}</p></li>{{/nav}}</ul>
        """

    static let find = """
        <h1>{{w.findTitle}}</h1>
        <form method="get" action="/children">
        <div class="field"><label for="nsn">{{w.nsn}}</label><input id="nsn" name="nsn" inputmode="numeric" value="{{nsn}}"></div>
        <div class="field"><label for="ref">{{w.localReference}}</label><input id="ref" name="ref" value="{{ref}}"></div>
        <button type="submit">{{w.find}}</button>
        </form>
        {{#searched}}{{#found}}<p>{{w.foundChild}} <a href="/children/{{found}}">{{w.openChild}}</a></p>{{/found}}{{^found}}<p role="status">{{w.notFoundChild}}</p>{{/found}}{{/searched}}
        <p><a class="button" href="/children/new">{{w.registerChild}}</a></p>
        """

    static let register = """
        <h1>{{w.registerTitle}}</h1>
        \(errors)
        <form method="post" action="/children">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><label for="f-birthMonth">{{w.birthMonth}}</label><p class="hint" id="bm-hint">{{w.birthMonthHint}}</p>
        <input id="f-birthMonth" name="birthMonth" value="{{v.birthMonth}}" aria-describedby="bm-hint" required></div>
        <div class="field"><label for="f-nsn">{{w.nsn}}</label><input id="f-nsn" name="nsn" inputmode="numeric" value="{{v.nsn}}"></div>
        <div class="field"><label for="f-localReference">{{w.localReference}}</label><input id="f-localReference" name="localReference" value="{{v.localReference}}"></div>
        <div class="field"><label for="f-name">{{w.childName}}</label><input id="f-name" name="name" value="{{v.name}}" autocomplete="off"></div>
        <button type="submit">{{w.register}}</button>
        </form>
        """

    static let child = """
        <h1>{{heading}}</h1>
        <p>{{born}}</p>
        <ul class="actions">
        <li><a class="button" href="/children/{{subject}}/consents/new">{{w.recordConsent}}</a></li>
        <li><a class="button" href="/children/{{subject}}/share">{{w.mayWeShare}}</a></li>
        {{#member}}<li><a class="button secondary" href="/children/{{subject}}/refusals/new">{{w.recordRefusal}}</a></li>{{/member}}
        {{#privacy}}<li><a class="button" href="/children/{{subject}}/report">{{w.report}}</a></li>
        <li><a class="button secondary" href="/children/{{subject}}/erase">{{w.erase}}</a></li>{{/privacy}}
        </ul>
        <h2>{{w.consents}}</h2>
        {{^hasConsents}}<p>{{w.noConsents}}</p>{{/hasConsents}}
        {{#consents}}<section class="card"><h3>{{title}}</h3><p><strong class="status">{{statusText}}</strong></p>
        {{#hasItems}}<ol class="items">{{#items}}<li>{{.}}</li>{{/items}}</ol>{{/hasItems}}
        {{#receipt}}<p><a href="/consents/{{id}}/receipt">{{w.receipt}}</a></p>{{/receipt}}
        {{#canWithdraw}}<form method="post" action="/consents/{{id}}/withdraw" class="withdraw">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>{{w.withdrawLegend}}</legend>
        <label for="by-{{id}}">{{w.withdrawnBy}}</label><select id="by-{{id}}" name="by">{{#consenterChoices}}<option value="{{code}}">{{label}}</option>{{/consenterChoices}}</select>
        <button type="submit">{{w.withdraw}}</button></fieldset></form>{{/canWithdraw}}
        </section>{{/consents}}
        <h2>{{w.disclosures}}</h2>
        {{^hasDisclosures}}<p>{{w.noDisclosures}}</p>{{/hasDisclosures}}
        {{#hasDisclosures}}<table><caption class="visually-hidden">{{w.disclosures}}</caption><thead><tr><th scope="col">{{w.date}}</th><th scope="col">{{w.recipient}}</th><th scope="col">{{w.information}}</th><th scope="col">{{w.purpose}}</th>{{#privacy}}<th scope="col">{{w.review}}</th>{{/privacy}}</tr></thead><tbody>
        {{#disclosures}}<tr id="d-{{id}}"><td>{{date}}</td><td>{{recipient}}</td><td>{{information}}</td><td>{{purpose}}</td>{{#privacy}}<td>{{#reviewed}}{{w.reviewed}}: {{reviewed}}{{/reviewed}}{{^reviewed}}{{#needsReview}}<p><strong>{{w.needsReview}}</strong></p>{{/needsReview}}
        <form method="post" action="/disclosures/{{id}}/review"><input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>{{w.review}}<span class="visually-hidden"> {{date}} {{recipient}}</span></legend>
        <div class="choice"><input type="radio" id="o-{{id}}-j" name="outcome" value="justified" required><label for="o-{{id}}-j">{{w.outcomeJustified}}</label></div>
        <div class="choice"><input type="radio" id="o-{{id}}-n" name="outcome" value="not-justified"><label for="o-{{id}}-n">{{w.outcomeNotJustified}}</label></div></fieldset>
        <div class="field"><label for="n-{{id}}">{{w.reviewNotes}}</label><p class="hint" id="n-{{id}}-hint">{{w.sealedHint}}</p><textarea id="n-{{id}}" name="notes" rows="2" aria-describedby="n-{{id}}-hint"></textarea></div>
        <button type="submit">{{w.recordReview}}</button></form>{{/reviewed}}</td>{{/privacy}}</tr>{{/disclosures}}</tbody></table>{{/hasDisclosures}}
        <h2>{{w.decisions}}</h2>
        {{^hasDecisions}}<p>{{w.noDecisions}}</p>{{/hasDecisions}}
        {{#decisions}}<section class="card"><h3>{{date}} · {{question}}</h3><p><strong class="status">{{answer}}</strong></p>
        <ul>{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul></section>{{/decisions}}
        """

    static let consent = """
        <h1>{{w.consentTitle}}</h1>
        <p>{{w.consentIntro}}</p>
        \(errors)
        <form method="post" action="/children/{{subject}}/consents">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{{itemsHTML}}}
        <fieldset id="f-consenters" class="item{{#consentersError}} has-error{{/consentersError}}"><legend>{{w.whoAgreed}}</legend>
        {{#consentersError}}<p class="field-error">{{consentersError}}</p>{{/consentersError}}
        <div class="field"><label for="f-consenter-role">{{w.agreedAs}}</label><select id="f-consenter-role" name="consenterRole">{{#adultRoles}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/adultRoles}}</select></div>
        <div class="field"><label for="f-consenter-name">{{w.theirName}}</label><input id="f-consenter-name" name="consenterName" value="{{v.consenterName}}" autocomplete="off"></div>
        <div class="choice"><input type="checkbox" id="f-young" name="youngPerson" value="yes"{{#v.youngPerson}} checked{{/v.youngPerson}}><label for="f-young">{{w.youngPersonAgreed}}</label></div>
        <div class="field"><label for="f-young-name">{{w.youngPersonName}}</label><input id="f-young-name" name="youngPersonName" value="{{v.youngPersonName}}" autocomplete="off"></div>
        </fieldset>
        <fieldset id="f-informed" class="item{{#informedError}} has-error{{/informedError}}"><legend>{{w.howTold}}</legend>
        {{#informedError}}<p class="field-error">{{informedError}}</p>{{/informedError}}
        \(told)
        <div class="field"><label for="f-text">{{w.wordsShown}}</label><textarea id="f-text" name="text" rows="4">{{v.text}}</textarea></div>
        </fieldset>
        <div class="buttons"><button type="submit" name="action" value="sheet" class="secondary">{{w.showSheet}}</button>
        <button type="submit" name="action" value="record">{{w.recordIt}}</button></div>
        </form>
        """

    /// When, in which language and how the whānau were told: the consent form's and the refusal form's.
    static let told = """
        <div class="field"><label for="f-informed-date">{{w.toldOn}}</label><input type="date" id="f-informed-date" name="informedDate" value="{{v.informedDate}}"></div>
        <div class="field"><label for="f-informed-language">{{w.inLanguage}}</label><select id="f-informed-language" name="informedLanguage"><option value="en"{{#v.en}} selected{{/v.en}}>English</option><option value="mi"{{#v.mi}} selected{{/v.mi}} lang="mi">te reo Māori</option></select></div>
        <div class="field"><label for="f-informed-method">{{w.toldHow}}</label><input id="f-informed-method" name="informedMethod" value="{{v.informedMethod}}"></div>
        """

    static let refusal = """
        <h1>{{w.refusalTitle}}</h1>
        <p>{{w.refusalIntro}}</p>
        \(errors)
        <form method="post" action="/children/{{subject}}/refusals">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#groups}}<fieldset id="{{anchor}}" class="item{{#error}} has-error{{/error}}"><legend>{{legend}}</legend>
        {{#error}}<p class="field-error" id="{{anchor}}-error"><span class="visually-hidden">{{w.error}}: </span>{{error}}</p>{{/error}}
        <div class="choices">{{#choices}}<div class="choice"><input type="checkbox" id="{{id}}" name="{{name}}" value="{{code}}"{{#checked}} checked{{/checked}}><label for="{{id}}">{{label}}</label></div>{{/choices}}</div></fieldset>{{/groups}}
        <fieldset id="f-informed" class="item{{#informedError}} has-error{{/informedError}}"><legend>{{w.howTold}}</legend>
        {{#informedError}}<p class="field-error">{{informedError}}</p>{{/informedError}}
        \(told)
        </fieldset>
        <div class="field{{#reasonError}} has-error{{/reasonError}}" id="f-reason-field"><label for="f-reason">{{w.refusalReason}}</label><p class="hint" id="f-reason-hint">{{w.sealedHint}}</p>
        {{#reasonError}}<p class="field-error">{{reasonError}}</p>{{/reasonError}}
        <textarea id="f-reason" name="reason" rows="3" aria-describedby="f-reason-hint">{{v.reason}}</textarea></div>
        <div class="buttons"><button type="submit">{{w.recordRefusalButton}}</button></div>
        </form>
        <p><a href="/children/{{subject}}">{{w.backToChild}}</a></p>
        """

    static let erase = """
        <h1>{{w.eraseTitle}}</h1>
        \(errors)
        <h2>{{w.eraseWhat}}</h2>
        <ul><li>{{w.eraseWill1}}</li><li>{{w.eraseWill2}}</li><li>{{w.eraseWill3}}</li><li><strong>{{w.eraseWill4}}</strong></li></ul>
        <form method="post" action="/children/{{subject}}/erase">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset id="f-reason" class="item"><legend>{{w.eraseReason}}</legend>
        {{#reasons}}<div class="choice"><input type="radio" id="r-{{code}}" name="reason" value="{{code}}"{{#checked}} checked{{/checked}} required><label for="r-{{code}}">{{label}}</label></div>{{/reasons}}
        </fieldset>
        <div class="choice{{#confirmError}} has-error{{/confirmError}}" id="f-confirm">{{#confirmError}}<p class="field-error">{{confirmError}}</p>{{/confirmError}}<input type="checkbox" id="f-confirm-box" name="confirm" value="yes" required><label for="f-confirm-box">{{w.eraseConfirm}}</label></div>
        <div class="buttons"><button type="submit" class="danger">{{w.eraseButton}}</button></div>
        </form>
        <p><a href="/children/{{subject}}">{{w.backToChild}}</a></p>
        """

    static let sheet = """
        <div class="sheet{{#both}} both{{/both}}">
        {{#parts}}<section lang="{{lang}}" class="sheet-part"><h1>{{title}}</h1><p>{{intro}}</p>
        <dl>{{#items}}<dt>{{number}}. {{question}}</dt><dd>{{answer}}</dd>{{/items}}</dl>
        <p>{{contactLine}}</p>{{#note}}<p class="meta">{{note}}</p>{{/note}}</section>{{/parts}}
        </div>
        <form method="post" action="/children/{{subject}}/consents" class="no-print">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
        <p>{{w.sheetLanguages}}</p><div class="buttons"><button type="submit" name="action" value="sheet-en" class="secondary" lang="en">English</button>
        <button type="submit" name="action" value="sheet-mi" class="secondary" lang="mi">te reo Māori</button>
        <button type="submit" name="action" value="sheet-both" class="secondary">{{w.both}}</button></div>
        <div class="buttons"><button type="submit" name="action" value="edit" class="secondary">{{w.back}}</button>
        <button type="submit" name="action" value="record">{{w.recordIt}}</button></div>
        </form>
        """

    static let receipt = """
        <h1>{{w.receiptTitle}}</h1>
        <p>{{w.receiptIntro}}</p>
        <ol class="items">{{#items}}<li>{{.}}</li>{{/items}}</ol>
        <p>{{w.agreedByLabel}}: {{agreedBy}}</p>
        <h2>{{w.receiptProof}}</h2>
        <p>{{w.entry}} {{index}} · {{w.checkpointSize}} {{size}}</p>
        <pre class="note">{{checkpoint}}</pre>
        <p>{{w.receiptVerify}}</p><pre>tiaki receipt verify receipt-{{index}}.json --vkey "{{vkey}}"</pre>
        <p class="no-print"><a class="button" href="/consents/{{index}}/receipt.json" download="receipt-{{index}}.json">{{w.downloadReceipt}}</a> <a href="/children/{{subject}}">{{w.backToChild}}</a></p>
        """

    static let share = """
        <h1>{{w.shareTitle}}</h1>
        \(errors)
        <form method="post" action="/children/{{subject}}/share">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{{fieldsHTML}}}
        <div class="choice"><input type="checkbox" id="f-serious" name="seriousThreat" value="yes"><label for="f-serious">{{w.seriousThreat}}</label></div>
        <button type="submit">{{w.ask}}</button>
        </form>
        """

    static let answer = """
        <h1>{{#permit}}{{w.permitted}}{{/permit}}{{^permit}}{{w.notPermitted}}{{/permit}}</h1>
        <p>{{question}}</p>
        <h2>{{w.why}}</h2><ul>{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul>
        {{#hasObligations}}<h2>{{w.obligations}}</h2><ul>{{#obligations}}<li>{{.}}</li>{{/obligations}}</ul>{{/hasObligations}}
        {{#permit}}<form method="post" action="/children/{{subject}}/disclosures">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="decision" value="{{decision}}">
        <button type="submit">{{w.recordShare}}</button></form>{{/permit}}
        <p><a href="/children/{{subject}}">{{w.backToChild}}</a></p>
        """

    static let findings = """
        <h1>{{w.findingsTitle}}</h1>
        <p>{{summary}}</p>
        {{#groups}}<h2>{{title}} ({{count}})</h2><ul class="findings">{{#items}}<li><p>{{summary}}</p><p class="meta">{{kind}}{{#subject}} · <a href="/children/{{subject}}/report">{{w.theChild}}</a>{{/subject}} · {{w.entries}} {{entries}}</p></li>{{/items}}</ul>{{/groups}}
        {{^hasGroups}}<p>{{w.noFindings}}</p>{{/hasGroups}}
        """

    static let coverage = """
        <h1>{{w.coverageTitle}}</h1>
        <p>{{w.coverageIntro}}</p>
        <table><caption class="visually-hidden">{{w.coverageTitle}}</caption><thead><tr><th scope="col">{{w.organisation}}</th>{{#purposes}}<th scope="col">{{.}}</th>{{/purposes}}</tr></thead><tbody>
        {{#rows}}<tr><th scope="row">{{name}}</th>{{#counts}}<td>{{.}}</td>{{/counts}}</tr>{{/rows}}</tbody></table>
        """

    static let ledger = """
        <h1>{{w.ledgerTitle}}</h1>
        <p>{{w.ledgerSize}}: {{size}}</p>
        <h2>{{w.checkpoint}}</h2><pre class="note">{{checkpoint}}</pre>
        <h2>{{w.vkey}}</h2><pre>{{vkey}}</pre>
        <h2>{{w.exportTitle}}</h2><p><a class="button" href="/ledger/export.tar" download>{{w.downloadExport}}</a></p>
        <p>{{w.exportIntro}}</p><pre>tar -xf {{folder}}.tar
        tiaki verify {{folder}} --vkey "{{vkey}}"</pre>
        <h2>{{w.howToVerify}}</h2><p>{{w.verifyIntro}}</p><pre>tiaki export --data DIR --out bundle
        tiaki verify bundle --vkey "{{vkey}}"</pre>
        """

    static let admin = """
        <h1>{{w.adminTitle}}</h1>
        {{#newToken}}<div class="notice" role="status"><h2>{{w.newToken}}</h2><p>{{w.newTokenHint}}</p><pre>{{newToken}}</pre></div>{{/newToken}}
        \(errors)
        <h2>{{w.organisations}}</h2>
        <table><caption class="visually-hidden">{{w.organisations}}</caption><thead><tr><th scope="col">{{w.organisation}}</th><th scope="col">id</th><th scope="col">{{w.kind}}</th></tr></thead><tbody>
        {{#orgs}}<tr><td>{{name}}</td><td>{{id}}</td><td>{{kind}}</td></tr>{{/orgs}}</tbody></table>
        <h2>{{w.registerOrg}}</h2>
        <form method="post" action="/admin/orgs"><input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><label for="f-id">{{w.orgId}}</label><p class="hint" id="f-id-hint">{{w.orgIdHint}}</p><input id="f-id" name="id" value="{{v.id}}" aria-describedby="f-id-hint" required></div>
        <div class="field"><label for="f-name">{{w.orgName}}</label><input id="f-name" name="name" value="{{v.name}}" required></div>
        <div class="field"><label for="f-kind">{{w.kind}}</label><select id="f-kind" name="kind">{{#kinds}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select></div>
        <div class="field"><label for="f-contact">{{w.orgContact}}</label><input id="f-contact" name="contact" value="{{v.contact}}"></div>
        <div class="field"><label for="f-law">{{w.orgLaw}}</label><input id="f-law" name="law" value="{{v.law}}"></div>
        <button type="submit">{{w.register}}</button></form>
        <h2>{{w.issueCredential}}</h2>
        <form method="post" action="/admin/credentials"><input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><label for="f-org">{{w.organisation}}</label><select id="f-org" name="org">{{#orgs}}<option value="{{id}}">{{name}}</option>{{/orgs}}</select></div>
        <div class="field"><label for="f-role">{{w.role}}</label><select id="f-role" name="role">{{#roles}}<option value="{{.}}">{{.}}</option>{{/roles}}</select></div>
        <button type="submit">{{w.issue}}</button></form>
        <h2>{{w.credentials}}</h2>
        <table><caption class="visually-hidden">{{w.credentials}}</caption><thead><tr><th scope="col">id</th><th scope="col">{{w.organisation}}</th><th scope="col">{{w.role}}</th><th scope="col">{{w.revoke}}</th></tr></thead><tbody>
        {{#credentials}}<tr><td>{{id}}</td><td>{{org}}</td><td>{{role}}</td><td>{{#revoked}}{{w.revoked}}{{/revoked}}{{^revoked}}<form method="post" action="/admin/credentials/{{id}}/revoke" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="secondary">{{w.revoke}}<span class="visually-hidden"> {{id}}</span></button></form>{{/revoked}}</td></tr>{{/credentials}}
        </tbody></table>
        """

    static let message = """
        <h1>{{heading}}</h1>
        <p>{{text}}</p>
        {{#link}}<p><a href="{{href}}">{{label}}</a></p>{{/link}}
        """

    static let report = """
        {{{reportBody}}}
        <p class="no-print"><a class="button" href="/children/{{subject}}/report.html" download="report-{{subject}}.html">{{w.downloadReport}}</a></p>
        """

    /// The seven checklist items' fieldsets, rendered apart: a blank form's are the same for every child and
    /// cached per language.
    static let consentItems = """
        {{#items}}<fieldset id="{{anchor}}" class="item{{#error}} has-error{{/error}}"><legend>{{number}}. {{question}}</legend>
        {{#error}}<p class="field-error" id="{{anchor}}-error"><span class="visually-hidden">{{w.error}}: </span>{{error}}</p>{{/error}}
        {{#groups}}{{#legend}}<fieldset class="group"><legend>{{legend}}</legend>{{/legend}}<div class="choices">{{#choices}}<div class="choice"><input type="checkbox" id="{{id}}" name="{{name}}" value="{{code}}"{{#checked}} checked{{/checked}}><label for="{{id}}">{{label}}</label></div>{{/choices}}</div>{{#legend}}</fieldset>{{/legend}}{{/groups}}
        {{#texts}}<div class="field"><label for="{{id}}">{{label}}</label>{{#hint}}<p class="hint">{{hint}}</p>{{/hint}}<input id="{{id}}" name="{{name}}" value="{{value}}"{{#date}} type="date"{{/date}}></div>{{/texts}}
        </fieldset>{{/items}}
        """

    /// The share form's choices, rendered apart and cached per language while the organisations stay the same.
    static let shareFields = """
        {{#selects}}<div class="field"><label for="{{id}}">{{label}}</label>{{#error}}<p class="field-error">{{error}}</p>{{/error}}<select id="{{id}}" name="{{name}}">{{#options}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}</select></div>{{/selects}}
        <fieldset id="f-information"><legend>{{w.information}}</legend>{{#informationError}}<p class="field-error">{{informationError}}</p>{{/informationError}}
        <div class="choices">{{#information}}<div class="choice"><input type="checkbox" id="{{id}}" name="information" value="{{code}}"{{#checked}} checked{{/checked}}><label for="{{id}}">{{label}}</label></div>{{/information}}</div></fieldset>
        """

    static let notices = """
        <h1>{{w.noticesTitle}}</h1>
        <h2>{{w.collectionNotices}} ({{collectionsTotal}})</h2>
        <p>{{w.collectionNoticesIntro}}</p>
        {{^hasCollections}}<p>{{w.nothingDue}}</p>{{/hasCollections}}
        {{#collections}}<section class="card"><p>{{action}}</p>
        <p><a href="/notices/collections/{{disclosure}}?lang=both">{{w.noticeDocument}}</a></p>
        <form method="post" action="/notices/collections/{{disclosure}}/sent" class="inline-fields">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="m-{{disclosure}}">{{w.sentBy}}</label><select id="m-{{disclosure}}" name="method"><option value="email">email</option><option value="post">post</option><option value="in-person">in person</option><option value="phone">phone</option></select>
        <button type="submit">{{w.recordSent}}</button></form></section>{{/collections}}
        <h2>{{w.withdrawalNotices}} ({{withdrawalsTotal}})</h2>
        {{^hasWithdrawals}}<p>{{w.nothingDue}}</p>{{/hasWithdrawals}}
        {{#withdrawals}}<section class="card"><p>{{action}}</p>
        <form method="post" action="/notices/withdrawals/{{consent}}/acknowledge"><input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">{{w.acknowledge}}</button></form></section>{{/withdrawals}}
        <h2>{{w.renewals}} ({{renewalsTotal}})</h2>
        {{^hasRenewals}}<p>{{w.nothingDue}}</p>{{/hasRenewals}}
        <ul>{{#renewals}}<li>{{action}} <a href="/children/{{subject}}">{{w.theChild}}</a></li>{{/renewals}}</ul>
        """

    static let breaches = """
        <h1>{{w.breachesTitle}}</h1>
        {{^hasBreaches}}<p>{{w.noBreaches}}</p>{{/hasBreaches}}
        {{#hasBreaches}}<table><caption class="visually-hidden">{{w.breachesTitle}}</caption><thead><tr><th scope="col">{{w.breach}}</th><th scope="col">{{w.found}}</th><th scope="col">{{w.children}}</th><th scope="col">{{w.status}}</th></tr></thead><tbody>
        {{#breaches}}<tr><td><a href="/breaches/{{breach}}">{{breach}}</a></td><td>{{found}}</td><td>{{children}}</td><td>{{status}}{{#overdue}} — <strong>{{w.overdue}}</strong>{{/overdue}}</td></tr>{{/breaches}}</tbody></table>{{/hasBreaches}}
        <h2>{{w.recordBreach}}</h2>
        \(errors)
        <form method="post" action="/breaches"><input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><label for="f-found">{{w.foundAt}}</label><p class="hint" id="found-hint">{{w.foundHint}}</p><input id="f-found" name="found" value="{{v.found}}" aria-describedby="found-hint"></div>
        <div class="field"><label for="f-description">{{w.whatHappened}}</label><textarea id="f-description" name="description" rows="4">{{v.description}}</textarea></div>
        <div class="field"><label for="f-recipient">{{w.breachRecipient}}</label><select id="f-recipient" name="recipient"><option value="">—</option>{{#orgs}}<option value="{{id}}">{{name}}</option>{{/orgs}}</select></div>
        <div class="field"><label for="f-from">{{w.from}}</label><input type="date" id="f-from" name="from" value="{{v.from}}"></div>
        <div class="field"><label for="f-to">{{w.to}}</label><input type="date" id="f-to" name="to" value="{{v.to}}"></div>
        <button type="submit">{{w.recordBreach}}</button></form>
        """

    static let breach = """
        <h1>{{w.breach}} {{f.breach}}</h1>
        \(errors)
        <p>{{statusLine}}</p>
        <p>{{f.description}}</p>
        <p><a href="/breaches/{{f.breach}}/report">{{w.breachReport}}</a></p>
        <h2>{{w.children}} ({{childCount}})</h2>
        <ul>{{#children}}<li>{{label}} · {{information}}{{#sensitive}} — <strong>{{sensitive}}</strong>{{/sensitive}} · <a href="/breaches/{{breach}}/notices/{{subject}}?lang=both">{{w.noticeDocument}}</a>
        {{#sent}} · {{w.told}}{{/sent}}{{^sent}}<form method="post" action="/breaches/{{breach}}/notice-{{subject}}" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="secondary">{{w.recordSent}}<span class="visually-hidden"> {{label}}</span></button></form>{{/sent}}</li>{{/children}}</ul>
        {{^assessed}}<h2>{{w.assess}}</h2>
        <form method="post" action="/breaches/{{f.breach}}/assessment"><input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset id="f-seriousHarm"><legend>{{w.seriousHarmQuestion}}</legend>
        <div class="choice"><input type="radio" id="sh-yes" name="seriousHarm" value="yes"><label for="sh-yes">{{w.yesNotifiable}}</label></div>
        <div class="choice"><input type="radio" id="sh-no" name="seriousHarm" value="no"><label for="sh-no">{{w.noNotNotifiable}}</label></div></fieldset>
        <fieldset id="f-factors"><legend>{{w.factors}}</legend><div class="choices">{{#factors}}<div class="choice"><input type="checkbox" id="fa-{{code}}" name="factors" value="{{code}}"><label for="fa-{{code}}">{{label}}</label></div>{{/factors}}</div></fieldset>
        <div class="field"><label for="f-reasons">{{w.reasons}}</label><textarea id="f-reasons" name="reasons" rows="3"></textarea></div>
        <button type="submit">{{w.recordAssessment}}</button></form>{{/assessed}}
        {{#notifiable}}{{^commissioner}}<h2>{{w.commissioner}}</h2>
        <form method="post" action="/breaches/{{f.breach}}/commissioner"><input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><label for="f-reference">{{w.reference}}</label><input id="f-reference" name="reference"></div>
        <button type="submit">{{w.recordCommissioner}}</button></form>{{/commissioner}}{{/notifiable}}
        """
}
