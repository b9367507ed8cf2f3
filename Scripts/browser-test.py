#!/usr/bin/env python3
"""The whole day in a real browser: headless Chromium driven by Selenium, axe-core on every page.

Run by Scripts/browser-check.sh, which starts the service and passes the base URL and the credentials in the
environment. Exits 1 on the first failed check, printing what was expected and what the page said.

Besides the day itself it walks what people stumbled on: a credential revoked while its holder is signed in
(a member and an admin), a double click on a button that records, Back and reload after recording, switching
language on a form that came back with problems, a stale form, a privacy officer finding a child, and every page
with a table at a phone's 375 px, in English and te reo Māori.
"""
import base64
import json
import os
import re
import sys
import time
import urllib.request
from urllib.parse import urlparse

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["TIAKI_URL"]
TOKENS = json.loads(os.environ["TIAKI_TOKENS"])
SHOTS = os.environ.get("TIAKI_SCREENSHOTS", "docs/screenshots")
os.makedirs(SHOTS, exist_ok=True)

options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1400",
             "--disable-gpu", "--lang=en-NZ"]:
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
checked = {"pages": 0, "violations": 0, "phone": 0}
host = urlparse(BASE).netloc


def fail(message):
    print(f"browser-test: FAILED: {message}")
    print(f"  at {driver.current_url}")
    try:
        print("  " + driver.find_element(By.TAG_NAME, "body").text[:800].replace("\n", "\n  "))
    except WebDriverException:
        pass
    driver.quit()
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def api(method, path, who=None, body=None):
    """A request to the API, outside the browser: what an admin's script or another system would send."""
    request = urllib.request.Request(BASE + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    if who:
        request.add_header("Authorization", "Bearer " + (TOKENS.get(who) or who))
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def ledger_size():
    _, text = api("GET", "/v1/ledger/checkpoint")
    return int(text.splitlines()[1])


def audit(name):
    """axe-core on the page: no serious or critical violation; no request to anywhere but Tiaki."""
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    checked["pages"] += 1
    if bad:
        checked["violations"] += len(bad)
        for v in bad:
            print(f"  axe {v['impact']}: {v['id']}: {v['help']} ({len(v['nodes'])} nodes) on {name}")
            for n in v["nodes"][:3]:
                print(f"     {n['html'][:160]}")
        fail(f"axe found {len(bad)} serious or critical violations on {name}")
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith("http") and urlparse(url).netloc != host:
                fail(f"{name} asked for an outside resource: {url}")


def phone(name):
    """At a phone's 375 px the page does not scroll sideways (tables become cards)."""
    driver.set_window_size(375, 900)
    driver.refresh()
    wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    driver.set_window_size(1100, 1400)
    checked["phone"] += 1
    expect(wide <= 0, f"{name} scrolls sideways at 375 px by {wide} px")


def wait_replaced(old):
    def replaced(_):
        # Chrome reports a replaced page's element as stale, or as not belonging to the document: both mean gone.
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True

    WebDriverWait(driver, 15).until(replaced)
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def go(element):
    """Clicks a link or a submit button and waits for the next page to replace this one, and to be loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait_replaced(old)


def shot(name):
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def visit(path, name=None):
    driver.get(BASE + path)
    if name:
        audit(name)


def text():
    return driver.find_element(By.TAG_NAME, "body").text


def sign_in(who, token=None):
    driver.delete_all_cookies()
    visit("/sign-in", "sign-in")
    driver.find_element(By.ID, "token").send_keys(token or TOKENS[who])
    go(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
    expect("/sign-in" not in driver.current_url, f"{who} could not sign in")


def sign_out():
    go(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))
    expect("signed out" in driver.page_source or "Kua takiputa" in driver.page_source, "signing out says so")


def tick(name, value):
    driver.find_element(By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']").click()


def choose(select_id, value):
    driver.find_element(By.CSS_SELECTOR, f"#{select_id} option[value='{value}']").click()


def fill(element_id, value):
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def language(to):
    link = driver.find_element(By.CSS_SELECTOR, f"a[href^='/language?to={to}']")
    go(link)


# ---------------------------------------------------------------------------------------------------------------
# School staff: register a child, record a consent (with a problem, a language switch, the sheet, Back and reload),
# share, withdraw, record a refusal.
sign_in("school")
audit("home (school)")
shot("01-home-school")
visit("/children/new", "register a child")
fill("f-birthMonth", "May 2014")
fill("f-nsn", "131 313 131")
fill("f-name", "Aroha Parata")
go(driver.find_element(By.CSS_SELECTOR, "form[action='/children'] button"))
child = driver.current_url.split("?")[0]
expect("/children/s-" in child, "registering leads to the child's page")
expect("The child is registered." in text(), "a banner says the child is registered")
audit("the child's page")
go(driver.find_element(By.LINK_TEXT, "Record a consent"))
audit("the consent form")
shot("02-consent-form")
# The first try leaves out item 1 and the consenter's name: the summary says so in words, beside each field too.
for name, value in [("information[]", "register-entry"), ("information[]", "assessment-progress"),
                    ("audience[]", "rtlb"), ("channels[]", "secure-email"), ("regions[]", "nz")]:
    tick(name, value)
fill("f-protection", "Encrypted email only; kept in the cluster's New Zealand systems.")
fill("f-until", "31/12/2027")
fill("f-accuracyMethod", "Ask to see the register entry at any time.")
fill("f-accuracyContact", "the learning support coordinator")
fill("f-withdrawalEffect", "Support continues; sharing stops and those who received it are told.")
fill("f-withdrawalHow", "Tell the school office, in person or in writing.")
fill("f-informedMethod", "at a meeting with the SENCO")
fill("f-text", "We would like to share Aroha's register entry and progress with the RTLB service.")
go(driver.find_element(By.CSS_SELECTOR, "button[value='sheet']"))
summary = driver.find_element(By.ID, "errors").text
expect("Choose why the information will be shared." in summary, "the summary names the missing item in words")
expect("Enter the name of the person who agreed." in summary, "the summary asks who agreed")
expect("purposes:" not in summary and "consenterName" not in summary, "no field paths in the summary")
expect(driver.title.startswith("Error:"), "the page title starts with Error:")
audit("the consent form with problems")
shot("03-consent-error")
# The whānau ask for te reo: the same form, in te reo, with everything typed.
language("mi")
expect('lang="mi"' in driver.page_source, "the form in te reo Māori")
expect(driver.find_element(By.ID, "f-protection").get_attribute("value").startswith("Encrypted email only"),
       "what was typed is kept across the language switch")
expect("Kōwhiria te take e tukuna ai ngā pārongo." in text(), "the problems in te reo")
audit("the consent form with problems (te reo Māori)")
language("en")
tick("purposes[]", "referral")
tick("purposes[]", "learning-support-planning")
fill("f-consenterName", "Mere Parata")
go(driver.find_element(By.CSS_SELECTOR, "button[value='sheet']"))
expect("sheet-part" in driver.page_source and "Aroha Parata" in driver.page_source,
       "the information sheet names the child")
go(driver.find_element(By.PARTIAL_LINK_TEXT, "both languages"))
expect("Te tuku pārongo mō tō tamaiti" in driver.page_source, "the sheet in te reo Māori")
audit("the information sheet")
shot("04-information-sheet")
driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
pdf = driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": False})
with open(os.path.join(SHOTS, "04-information-sheet.pdf"), "wb") as f:
    f.write(base64.b64decode(pdf["data"]))
shot("05-information-sheet-print")
driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
sheet = driver.current_url
size = ledger_size()
go(driver.find_element(By.CSS_SELECTOR, "button[value='record-sheet']"))
expect("/receipt" in driver.current_url, "recording leads to the receipt")
expect("The consent is recorded." in text() and "Mere Parata" in text(), "the receipt names who agreed")
expect(ledger_size() == size + 1, "one consent recorded")
audit("the receipt")
shot("06-receipt")
receipt = driver.current_url.split("?")[0]
# Back to the sheet, reload, and Record again: the browser never asks to resubmit, and nothing is recorded twice.
driver.back()
WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
expect("consents/sheet" in driver.current_url, "Back returns to the sheet, a page of its own")
driver.refresh()
expect("This was already recorded" in text(), "the sheet says it was already recorded")
expect(not driver.find_elements(By.CSS_SELECTOR, "button[value='record-sheet']"), "and offers no second record")
expect(ledger_size() == size + 1, "Back and reload record nothing")
driver.get(child)
go(driver.find_element(By.LINK_TEXT, "May we share?"))
audit("may we share")
choose("f-purpose", "referral")
choose("f-recipient", "rtlb-north")
choose("f-channel", "secure-email")
choose("f-storageRegion", "nz")
tick("information[]", "register-entry")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/share'] button[type='submit']"))
expect("Yes, you may share" in driver.page_source and "Why: Why" not in driver.page_source,
       "a referral to the RTLB service is permitted")
audit("the answer (permitted)")
shot("07-permitted")
# A double click on the button that records the share: one share.
size = ledger_size()
ActionChains(driver).double_click(driver.find_element(By.CSS_SELECTOR, "form[action$='/disclosures'] button")).perform()
WebDriverWait(driver, 15).until(
    lambda d: "The share is recorded." in d.page_source or "This was already recorded" in d.page_source)
time.sleep(0.5)
expect(ledger_size() == size + 1, "a double click records one share")
expect("RTLB North" in driver.page_source, "the share is on the child's page")
phone("the child's page with its shares")
go(driver.find_element(By.PARTIAL_LINK_TEXT, "Withdraw this consent"))
audit("the withdrawal's confirmation")
tick("by", "parent")
fill("f-how", "a phone call to the office")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/withdraw'] button"))
expect("Tick the box to confirm." in text(), "withdrawing asks to confirm")
driver.find_element(By.ID, "f-confirm-box").click()
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/withdraw'] button"))
expect("The withdrawal is recorded." in text() and "Withdrawn on" in text(), "the card shows the withdrawal's day")
audit("the child's page after the withdrawal")
shot("08-child-withdrawn")
driver.get(receipt)
expect("This consent was withdrawn on" in text(), "a withdrawn consent's receipt says so")
driver.get(child)
go(driver.find_element(By.LINK_TEXT, "May we share?"))
choose("f-purpose", "referral")
choose("f-recipient", "rtlb-north")
choose("f-channel", "secure-email")
choose("f-storageRegion", "nz")
tick("information[]", "register-entry")
# A stale form: its token no longer the session's (as after signing in again elsewhere): drawn again, kept.
driver.execute_script("document.querySelector(\"form[action$='/share'] input[name='csrf']\").value = 'stale'")
size = ledger_size()
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/share'] button[type='submit']"))
expect("This form was out of date" in text(), "a stale form says why")
expect(driver.find_element(By.CSS_SELECTOR, "#f-recipient option[value='rtlb-north']").is_selected(),
       "and keeps what was chosen")
expect(ledger_size() == size, "a stale form records nothing")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/share'] button[type='submit']"))
expect("No, do not share" in driver.page_source and "withdrawn" in driver.page_source,
       "asked again, the answer is no, because the consent was withdrawn")
audit("the answer (denied)")
shot("09-denied")
# The whānau decline a further request: recorded from its own short form, after a first try with nothing ticked.
driver.get(child)
go(driver.find_element(By.LINK_TEXT, "Record that the whānau declined"))
audit("the refusal form")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/refusals'] button[type='submit']"))
expect("Choose why the information will be shared." in driver.find_element(By.ID, "errors").text,
       "the refusal form says what is missing")
audit("the refusal form with an error")
tick("purposes[]", "progress-review")
tick("information[]", "behaviour")
tick("by[]", "parent")
fill("f-informedMethod", "at a hui with the whānau")
fill("f-reason", "They would like to talk with the kaiako first.")
shot("17-refusal")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/refusals'] button[type='submit']"))
expect("Declined" in driver.page_source, "the refusal is on the child's page")
expect("Requests to share" in driver.page_source and "No, do not share" in driver.page_source,
       "the child's page lists the requests to share and their answers")
audit("the child's page with a refusal and the requests")
shot("18-child-requests")
visit("/notices", "notices (school)")
# Te reo Māori pages.
visit("/language?to=mi&back=/children")
expect('lang="mi"' in driver.page_source, "the pages follow the language chosen")
audit("find a child (te reo Māori)")
shot("15-find-mi")
driver.get(child)
audit("the child's page (te reo Māori)")
phone("the child's page (te reo Māori)")
visit("/language?to=en&back=/")
sign_out()

# ---------------------------------------------------------------------------------------------------------------
# A member's credential revoked while they are signed in: the next page asks them to sign in; a form records nothing.
sign_in("school")
driver.get(child)
go(driver.find_element(By.LINK_TEXT, "May we share?"))
status, body = api("POST", "/v1/credentials", "admin",
                   {"org": "school-kowhai", "role": "member", "holder": "browser test: to be revoked"})
expect(status == 201, f"a credential to revoke: {status} {body}")
doomed = json.loads(body)
sign_in("school", doomed["token"])
driver.get(child)
go(driver.find_element(By.LINK_TEXT, "May we share?"))
expect(api("POST", f"/v1/credentials/{doomed['id']}/revoke", "admin")[0] == 200, "the admin revokes it")
size = ledger_size()
choose("f-purpose", "referral")
choose("f-recipient", "rtlb-north")
choose("f-channel", "secure-email")
choose("f-storageRegion", "nz")
tick("information[]", "register-entry")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/share'] button[type='submit']"))
expect("/sign-in" in driver.current_url, "a revoked member's form leads to sign-in")
expect(ledger_size() == size, "and records nothing")
driver.get(child)
expect("/sign-in" in driver.current_url, "a revoked member's next page asks to sign in")

# An admin's credential revoked while signed in cannot mint another.
status, body = api("POST", "/v1/credentials", "admin",
                   {"org": "cluster-office", "role": "admin", "holder": "browser test: a second admin"})
second = json.loads(body)
sign_in("admin", second["token"])
visit("/admin", "the admin page")
expect(api("POST", f"/v1/credentials/{second['id']}/revoke", "admin")[0] == 200, "the first admin revokes the second")
size = ledger_size()
choose("f-org", "cluster-office")
choose("f-role", "admin")
fill("f-holder", "me, again")
go(driver.find_element(By.CSS_SELECTOR, "form[action='/admin/credentials'] button"))
expect("/sign-in" in driver.current_url, "a revoked admin's form leads to sign-in")
expect(ledger_size() == size, "and no credential is issued")

# ---------------------------------------------------------------------------------------------------------------
# The privacy officer finds the child by NSN, reads the findings and the report, reviews the share; erasure waits
# behind a confirmation; the breach register takes a time as people type it.
sign_in("privacy")
visit("/children", "find a child (privacy officer)")
fill("nsn", "131-313-131")
go(driver.find_element(By.CSS_SELECTOR, "form[action='/children'] button"))
expect(driver.current_url.split("?")[0] == child and "Aroha Parata" in text(),
       "the privacy officer finds the child by NSN and sees their name")
expect(not driver.find_elements(By.LINK_TEXT, "Record a consent"), "and is not offered what only schools do")
audit("the child's page (privacy officer)")
visit("/findings", "findings")
expect("POST /v1" not in text() and "s-" not in text(), "findings speak in words, not routes and ids")
shot("10-findings")
visit(urlparse(child).path + "/report", "the child's report")
expect("were told to stop using it" in driver.page_source or "was told to stop using it" in driver.page_source,
       "the report says the recipient was told of the withdrawal")
expect("Your rights" in driver.page_source, "the report closes with the whānau's rights")
shot("11-report")
driver.get(child)
driver.find_element(By.CSS_SELECTOR, "form[action$='/review'] input[value='justified']").click()
fill(driver.find_element(By.CSS_SELECTOR, "form[action$='/review'] textarea").get_attribute("id"),
     "The referral was agreed at the hui.")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/review'] button"))
expect("Reviewed: Justified" in driver.page_source, "the review is on the child's page")
phone("the child's page (privacy officer)")
go(driver.find_element(By.LINK_TEXT, "Erase the child's personal details"))
expect("This cannot be undone." in driver.page_source, "erasure says what will happen before it happens")
audit("the erasure confirmation")
shot("19-erase-confirm")
visit("/breaches", "the breach register")
fill("f-found", "1/12/2026 9:30 am")
fill("f-description", "A report went to the wrong school.")
choose("f-breachRecipient", "school-rimu")
go(driver.find_element(By.CSS_SELECTOR, "form[action='/breaches'] button"))
# Nothing was shared with Rimu: said beside the field, in words, the rest kept.
expect("No share recorded in the ledger matches this" in text(), "a breach that touched nothing says so")
expect(driver.find_element(By.ID, "f-found").get_attribute("value") == "1/12/2026 9:30 am", "what was typed is kept")
choose("f-breachRecipient", "rtlb-north")
go(driver.find_element(By.CSS_SELECTOR, "form[action='/breaches'] button"))
expect("The breach is recorded." in text() and "NZDT" in text(), "the breach recorded, its time in NZ time")
audit("a breach")
go(driver.find_element(By.LINK_TEXT, "The report for the Privacy Commissioner"))
expect("Back to the breach" in text(), "the breach report has a way back")
audit("the breach report")
visit("/breaches", "the breach register with a breach")
phone("the breach register")
shot("16-breaches")
sign_out()

# Another school: the child is not found. Then the facilitator, auditor and admin pages.
sign_in("other")
driver.get(child)
expect("Not found" in driver.page_source, "another school's staff do not find the child")
audit("not found")
sign_out()
for who, path, name in [("facilitator", "/coverage", "12-coverage"), ("auditor", "/ledger", "13-ledger"),
                        ("admin", "/admin", "14-admin")]:
    sign_in(who)
    visit(path, name)
    shot(name)
    phone(name)
    visit("/language?to=mi&back=" + path)
    audit(name + " (te reo Māori)")
    phone(name + " (te reo Māori)")
    visit("/language?to=en&back=" + path)
    if who == "auditor":
        expect(driver.find_elements(By.CSS_SELECTOR, "a[href='/ledger/export.tar']"),
               "the auditor's page offers the export bundle")
    if who == "admin":
        fill("f-id", "kohanga-tui")
        fill("f-name", "Te Kōhanga Reo o Tūī")
        choose("f-kind", "kohanga-reo")
        fill("f-contact", "tui@example.nz")
        go(driver.find_element(By.CSS_SELECTOR, "form[action='/admin/orgs'] button"))
        expect("Te Kōhanga Reo o Tūī" in driver.page_source, "the organisation registered from the admin page")
        audit("the admin page after registering an organisation")
        choose("f-org", "kohanga-tui")
        choose("f-role", "member")
        fill("f-holder", "Te Kōhanga Reo o Tūī office")
        go(driver.find_element(By.CSS_SELECTOR, "form[action='/admin/credentials'] button"))
        expect("tiaki_" in driver.page_source, "the new credential is shown once")
        audit("the new credential")
        driver.refresh()
        expect("tiaki_" not in driver.page_source and "shown once" in driver.page_source,
               "reloading does not show it again")
        visit("/admin")
        expect("Te Kōhanga Reo o Tūī office" in driver.page_source, "credentials list their holder")
        go(driver.find_element(By.CSS_SELECTOR, "a[href$='/revoke']"))
        expect("Revoke this credential?" in driver.page_source, "revoking asks first, naming the holder")
        audit("the revocation's confirmation")
    sign_out()

# Signed out, back is refused.
driver.back()
driver.get(child)
expect("/sign-in" in driver.current_url, "after signing out, the child's page asks to sign in")

driver.quit()
print(f"browser-test: the whole day walked; {checked['pages']} pages checked by axe, 0 serious or critical "
      f"violations, {checked['phone']} pages at 375 px without sideways scrolling, no outside requests; "
      f"screenshots in {SHOTS}")
