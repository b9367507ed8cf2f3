#!/usr/bin/env python3
"""The whole day in a real browser: headless Chromium driven by Selenium, axe-core on every page.

Run by Scripts/browser-check.sh, which starts the service and passes the base URL and the credentials in the
environment. Exits 1 on the first failed check, printing what was expected and what the page said.
"""
import json
import os
import sys
import time
from urllib.parse import urlparse

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
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
checked = {"pages": 0, "violations": 0}
host = urlparse(BASE).netloc


def fail(message):
    print(f"browser-test: FAILED: {message}")
    print(f"  at {driver.current_url}")
    print("  " + driver.find_element(By.TAG_NAME, "body").text[:800].replace("\n", "\n  "))
    driver.quit()
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


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


def go(element):
    """Clicks a link or a submit button and waits for the next page to replace this one, and to be loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_):
        # Chrome reports a replaced page's element as stale, or as not belonging to the document: both mean gone.
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True

    WebDriverWait(driver, 15).until(replaced)
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def shot(name):
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def visit(path, name=None):
    driver.get(BASE + path)
    if name:
        audit(name)


def sign_in(who):
    visit("/sign-in", "sign-in")
    driver.find_element(By.ID, "token").send_keys(TOKENS[who])
    go(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
    expect("/sign-in" not in driver.current_url, f"{who} could not sign in")


def sign_out():
    go(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))
    expect("signed out" in driver.page_source or "Kua takiputa" in driver.page_source, "signing out says so")


def tick(name, value):
    driver.find_element(By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']").click()


def fill(element_id, text):
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


# School staff: register a child, record a consent, share, withdraw.
sign_in("school")
audit("home (school)")
shot("01-home-school")
visit("/children/new", "register a child")
fill("f-birthMonth", "2014-05")
fill("f-nsn", "131313131")
fill("f-name", "Aroha Parata")
go(driver.find_element(By.CSS_SELECTOR, "form[action='/children'] button"))
child = driver.current_url
expect("/children/s-" in child, "registering leads to the child's page")
audit("the child's page")
go(driver.find_element(By.LINK_TEXT, "Record a consent"))
audit("the consent form")
shot("02-consent-form")
# The first try leaves out item 1: the summary names it and links to it.
for name, value in [("information", "register-entry"), ("information", "assessment-progress"),
                    ("audience.kinds", "rtlb"), ("sharing.channels", "secure-email"),
                    ("sharing.storageRegions", "nz")]:
    tick(name, value)
fill("f-sharing-protection", "Encrypted email only; kept in the cluster's New Zealand systems.")
driver.execute_script("document.getElementById('f-retention-until').value = '2027-12-31'")
fill("f-accuracy-method", "Ask to see the register entry at any time.")
fill("f-accuracy-contact", "the learning support coordinator")
fill("f-withdrawal-effect", "Support continues; sharing stops and those who received it are told.")
fill("f-withdrawal-how", "Tell the school office, in person or in writing.")
fill("f-consenter-name", "Mere Parata")
fill("f-informed-method", "at a meeting with the SENCO")
fill("f-text", "We would like to share Aroha's register entry and progress with the RTLB service.")
go(driver.find_element(By.CSS_SELECTOR, "button[value='record']"))
summary = driver.find_element(By.ID, "errors").text
expect("purposes" in summary, "the error summary names the missing item as the API does")
audit("the consent form with an error")
shot("03-consent-error")
tick("purposes", "referral")
tick("purposes", "learning-support-planning")
go(driver.find_element(By.CSS_SELECTOR, "button[value='sheet']"))
expect("sheet-part" in driver.page_source, "the information sheet follows the form")
go(driver.find_element(By.CSS_SELECTOR, "button[value='sheet-both']"))
expect("Te tuku pārongo mō tō tamaiti" in driver.page_source, "the sheet in te reo Māori")
audit("the information sheet")
shot("04-information-sheet")
driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
pdf = driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": False})
with open(os.path.join(SHOTS, "04-information-sheet.pdf"), "wb") as f:
    import base64
    f.write(base64.b64decode(pdf["data"]))
shot("05-information-sheet-print")
driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
go(driver.find_element(By.CSS_SELECTOR, "button[value='record']"))
expect("/receipt" in driver.current_url, "recording leads to the receipt")
expect("tiaki receipt verify" in driver.page_source, "the receipt says how to check it")
audit("the receipt")
shot("06-receipt")
driver.get(child)
go(driver.find_element(By.LINK_TEXT, "May we share?"))
audit("may we share")
driver.find_element(By.CSS_SELECTOR, "#f-purpose option[value='referral']").click()
driver.find_element(By.CSS_SELECTOR, "#f-recipient option[value='rtlb-north']").click()
tick("information", "register-entry")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/share'] button[type='submit']"))
expect("Yes, you may share" in driver.page_source, "a referral to the RTLB service is permitted")
audit("the answer (permitted)")
shot("07-permitted")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/disclosures'] button"))
expect("RTLB North" in driver.page_source, "the share is on the child's page")
go(driver.find_element(By.CSS_SELECTOR, "form.withdraw button"))
expect("Withdrawn" in driver.page_source, "the consent is withdrawn")
audit("the child's page after the withdrawal")
shot("08-child-withdrawn")
go(driver.find_element(By.LINK_TEXT, "May we share?"))
driver.find_element(By.CSS_SELECTOR, "#f-purpose option[value='referral']").click()
driver.find_element(By.CSS_SELECTOR, "#f-recipient option[value='rtlb-north']").click()
tick("information", "register-entry")
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
expect("purposes" in driver.find_element(By.ID, "errors").text, "the refusal form names what is missing")
audit("the refusal form with an error")
tick("purposes", "progress-review")
tick("information", "behaviour")
tick("by", "parent")
fill("f-informed-method", "at a hui with the whānau")
fill("f-reason", "They would like to talk with the kaiako first.")
shot("17-refusal")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/refusals'] button[type='submit']"))
expect("Declined" in driver.page_source, "the refusal is on the child's page")
expect("Requests to share" in driver.page_source and "No, do not share" in driver.page_source,
       "the child's page lists the requests to share and their answers")
audit("the child's page with a refusal and the requests")
shot("18-child-requests")
visit("/notices", "notices (school)")
sign_out()

# The privacy officer: findings, and the child's report, which says the recipient was told.
sign_in("privacy")
visit("/findings", "findings")
shot("10-findings")
visit(urlparse(child).path + "/report", "the child's report")
expect("were told to stop using it" in driver.page_source or "was told to stop using it" in driver.page_source,
       "the report says the recipient was told of the withdrawal")
expect("Your rights" in driver.page_source, "the report closes with the whānau's rights")
shot("11-report")
# The share recorded earlier, reviewed from the child's page; erasure waits behind a confirmation.
driver.get(child)
audit("the child's page (privacy officer)")
driver.find_element(By.CSS_SELECTOR, "form[action$='/review'] input[value='justified']").click()
fill(driver.find_element(By.CSS_SELECTOR, "form[action$='/review'] textarea").get_attribute("id"),
     "The referral was agreed at the hui.")
go(driver.find_element(By.CSS_SELECTOR, "form[action$='/review'] button"))
expect("Reviewed: Justified" in driver.page_source, "the review is on the child's page")
go(driver.find_element(By.LINK_TEXT, "Erase the child's personal details"))
expect("This cannot be undone." in driver.page_source, "erasure says what will happen before it happens")
audit("the erasure confirmation")
shot("19-erase-confirm")
visit("/breaches", "the breach register")
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
    if who == "auditor":
        expect(driver.find_elements(By.CSS_SELECTOR, "a[href='/ledger/export.tar']"),
               "the auditor's page offers the export bundle")
    if who == "admin":
        fill("f-id", "kohanga-tui")
        fill("f-name", "Te Kōhanga Reo o Tūī")
        driver.find_element(By.CSS_SELECTOR, "#f-kind option[value='kohanga-reo']").click()
        fill("f-contact", "tui@example.nz")
        go(driver.find_element(By.CSS_SELECTOR, "form[action='/admin/orgs'] button"))
        expect("Te Kōhanga Reo o Tūī" in driver.page_source, "the organisation registered from the admin page")
        audit("the admin page after registering an organisation")
    sign_out()

# Te reo Māori pages.
sign_in("school")
visit("/language?to=mi&back=/children")
expect('lang="mi"' in driver.page_source, "the pages follow the language chosen")
audit("find a child (te reo Māori)")
shot("15-find-mi")
sign_out()

# Signed out, back is refused.
driver.back()
driver.get(child)
expect("/sign-in" in driver.current_url, "after signing out, the child's page asks to sign in")

driver.quit()
print(f"browser-test: the whole day walked; {checked['pages']} pages checked by axe, 0 serious or critical "
      f"violations, no outside requests; screenshots in {SHOTS}")
