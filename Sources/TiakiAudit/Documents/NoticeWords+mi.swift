/// Te reo Māori words of the notices to whānau.
///
/// NOT YET REVIEWED by a speaker of te reo Māori: drafted from the terms of the Ministry's and the Privacy
/// Commissioner's bilingual publications (Te Ture Tūmataiti 2020, Te Mana Mātāpono Matatapu, pārongo, tamaiti,
/// whānau, kura). Every notice that uses them says so, until `reviewed` is set true by a reviewer.
extension NoticeWords {
    public static let maori = NoticeWords(
        reviewed: false,
        reviewNote:
            "Kāore anō kia arotakehia tēnei reo Māori e tētahi mātanga. (Not yet reviewed by a speaker of te reo Māori.)",
        collectionTitle: "Kei a mātou he pārongo mō tō tamaiti",
        collectionIntro: { collector, child, source, date in
            "I whiwhi a \(collector) i ētahi pārongo mō \(child) i a \(source) i te \(date). E ai ki Te Ture Tūmataiti 2020 (mātāpono 3A), me whakamōhio atu mātou ki a koe."
        },
        why: "Te take kei a mātou",
        what: "Ngā pārongo i whiwhi mai",
        whoSees: { collector in
            "Ko ngā kaimahi o \(collector) e mahi tahi ana me tō tamaiti. Kāore mātou e tuku atu ki te kore koe e whakaae, engari mēnā e hiahiatia ana, e whakaaetia ana rānei e te ture."
        },
        collectedBy: "Nā wai i kohi, kei a wai e pupuri ana",
        cameFrom: "I ahu mai i a wai",
        law: "Te ture e kohia ai",
        noLaw: "Kāore he ture motuhake e hiahia ana kia kohia e mātou.",
        voluntary: "Māu anō e whakatau mēnā ka hoatu pārongo ki a mātou.",
        rightsTitle: "Ōu mōtika",
        rights: { contact in
            "Ka taea e koe te tono kia kite i ēnei pārongo, kia whakatikaina hoki (Te Ture Tūmataiti 2020, mātāpono 6 me te 7). Whakapā mai: \(contact)."
        },
        complain:
            "Ki te kore koe e makona ki tā mātou whakautu, ka taea e koe te amuamu ki Te Mana Mātāpono Matatapu: www.privacy.org.nz, 0800 803 909.",
        noContact: "pātai atu ki te kura mō ō mātou taipitopito whakapā",
        breachTitle: "He whati matatapu e pā ana ki ngā pārongo o tō tamaiti",
        breachIntro: { agency, found, child in
            "I te \(found), i kite a \(agency) kāore i tiakina tika ngā pārongo mō \(child). E pōuri ana mātou. Ka whakamārama tēnei reta i te āhua o te take, me ngā mea ka taea e koe."
        },
        breachWhatHappened: "I aha",
        breachInformation: "Ngā pārongo i pā",
        breachRecipients: "Kei a wai ngā pārongo",
        breachCommissioner: { reference in
            "Kua whakamōhiotia e mātou Te Mana Mātāpono Matatapu (tohutoro \(reference))."
        },
        breachContact: { contact in
            "Mēnā he pātai āu, e hiahia ana rānei koe ki te kite, ki te whakatika rānei i ngā pārongo kei a mātou, whakapā mai: \(contact)."
        },
        yourChild: "tō tamaiti",
        reference: { disclosure in "Tohutoro: tāurunga \(disclosure) o te pukapuka kaute a Tiaki." },
        itemHeadings: [
            "Te take e tukuna ai", "Ngā pārongo", "Ko wai ka kite", "Te tuku me te pupuri",
            "Ka tangohia i te rēhita", "Te tirotiro me te whakatika", "Mēnā ka whakakāhore, ka unu rānei",
        ],
        and: "me",
        alternatives: { $0.count < 2 ? ($0.first ?? "") : $0.map { "\($0) rānei" }.joined(separator: "; ") },
        keptIn: "ka puritia ki",
        protectedBy: "Ka tiakina pēnei:",
        orEarlierIf: "i mua atu rānei mēnā",
        contact: "Whakapā atu ki:",
        toWithdraw: "Hei unu:",
        months: [
            "Kohitātea", "Huitanguru", "Poutūterangi", "Paengawhāwhā", "Haratua", "Pipiri", "Hōngongoi",
            "Hereturikōkā", "Mahuru", "Whiringa-ā-nuku", "Whiringa-ā-rangi", "Hakihea",
        ]
    )
}
