"""Words for the generated mail mix: names, subjects and support prose in four languages."""

from __future__ import annotations

# Each language's share of senders; a third of the mix is not English.
LANGUAGES = {"en": 70, "de": 12, "fr": 10, "ja": 8}
DOMAINS = {
    "en": ["gmail.com", "outlook.com", "yahoo.com", "northwind.example", "contoso.example"],
    "de": ["web.de", "gmx.de", "t-online.de", "gmail.com", "müller-bau.example"],
    "fr": ["orange.fr", "free.fr", "laposte.net", "gmail.com", "société-générale.example"],
    "ja": ["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "example.co.jp"],
}
FIRST = {
    "en": ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy"],
    "de": ["Jürgen", "Björn", "Käthe", "Günther", "Sören", "Anja", "Lukas", "Jörg", "Maike"],
    "fr": ["Amélie", "François", "Hélène", "Jérôme", "Céline", "Benoît", "Zoé", "Gaëlle"],
    "ja": ["太郎", "花子", "健太", "美咲", "翔太", "陽菜", "大輔", "さくら"],
}
LAST = {
    "en": ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Walker"],
    "de": ["Müller", "Schäfer", "Weiß", "Groß", "Köhler", "Bäcker", "Schröder", "Hoffmann"],
    "fr": ["Lefèvre", "Dupré", "Bézier", "Chevalier", "Girard", "Lemaître", "Fournier"],
    "ja": ["佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "山本", "中村"],
}
# How each language's names are written in ASCII for the local part of an address.
ROMAN = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ç": "c", "ë": "e",
    "ê": "e", "î": "i", "ô": "o", "à": "a",
}  # fmt: skip
SUBJECTS = {
    "en": [
        "Printer on the 3rd floor keeps jamming",
        "Cannot log in after password reset",
        "Invoice INV-20931 shows the wrong VAT",
        "VPN drops every few minutes",
        "Refund for order 88412 not received",
        "Outlook calendar not syncing on my phone",
        "Request: new laptop for a starting colleague",
        "Error 0x80070005 when installing update",
        "Shared drive is read-only since this morning",
        "Question about our license renewal",
    ],
    "de": [
        "Drucker im 2. Stock druckt nicht mehr",
        "Rechnung Nr. 4711 \N{EN DASH} falscher Betrag",
        "Zugang gesperrt nach Passwortänderung",
        "Lieferung verspätet, bitte um Rückmeldung",
        "Frage zur Verlängerung der Lizenz",
        "Größenänderung des Postfachs beantragt",
    ],
    "fr": [
        "Problème de connexion à l'espace client",
        "Facture erronée \N{EN DASH} remboursement demandé",
        "L'imprimante du 1er étage ne répond plus",
        "Demande de création d'accès pour Hélène",
        "Délai de livraison dépassé",
        "Mise à jour échouée sur mon ordinateur portable",
    ],
    "ja": [
        "ログインできません",
        "請求書の金額について",
        "プリンターが印刷できない件",
        "パスワード再設定のお願い",
        "納品が遅れている件について",
        "ライセンス更新のご相談",
    ],
}
GREETING = {
    "en": ["Hello,", "Hi team,", "Dear support,", "Good morning,"],
    "de": ["Hallo,", "Sehr geehrte Damen und Herren,", "Guten Tag,", "Liebes Support-Team,"],
    "fr": ["Bonjour,", "Madame, Monsieur,", "Bonjour à toute l'équipe,"],
    "ja": ["お世話になっております。", "いつもお世話になっております。", "ご担当者様"],
}
PARAGRAPHS = {
    "en": [
        "Since yesterday afternoon the problem happens every time I try again. I restarted the "
        "machine twice and cleared the browser cache, but nothing changed.",
        "The error message says that the operation could not be completed and that I should "
        "contact my administrator. I am the administrator, so here I am.",
        "It worked fine until the update last Tuesday. Two colleagues in the same office have "
        "the same issue, the people on the other floor do not.",
        "Could you please look into this as soon as possible? We have a deadline on Friday and "
        "the whole team depends on it.",
        "I attached what I could find. If you need remote access to my computer, I am available "
        "between 9:00 and 17:00 today and tomorrow.",
        "Our account number is 2024-5531 and the contract was renewed in January, in case that "
        "helps you find us in your system.",
        "By the way, the link in your last newsletter leads to a page that does not exist "
        "anymore; maybe someone could fix that too.",
        "Thank you for the quick help last time, it was much appreciated by everyone here.",
    ],
    "de": [
        "Seit gestern Nachmittag tritt der Fehler bei jedem Versuch auf. Ich habe den Rechner "
        "zweimal neu gestartet und den Zwischenspeicher geleert, leider ohne Erfolg.",
        "Die Fehlermeldung lautet, dass der Vorgang nicht abgeschlossen werden konnte. Zwei "
        "Kollegen im selben Büro haben genau dasselbe Problem.",
        "Könnten Sie sich das bitte möglichst bald ansehen? Wir müssen bis Freitag liefern und "
        "das ganze Team ist davon abhängig.",
        "Unsere Kundennummer ist 2024-5531, der Vertrag wurde im Januar verlängert. Für "
        "Rückfragen erreichen Sie mich täglich zwischen 9 und 17 Uhr.",
        "Außerdem führt der Link in Ihrem letzten Rundschreiben ins Leere; vielleicht kann das "
        "jemand bei Gelegenheit prüfen.",
    ],
    "fr": [
        "Depuis hier après-midi, le problème se produit à chaque tentative. J'ai redémarré "
        "l'ordinateur deux fois et vidé le cache, sans résultat.",
        "Le message d'erreur indique que l'opération n'a pas pu être effectuée. Deux collègues "
        "du même bureau rencontrent exactement le même souci.",
        "Pourriez-vous regarder cela rapidement ? Nous avons une échéance vendredi et toute "
        "l'équipe en dépend.",
        "Notre numéro de client est le 2024-5531 ; le contrat a été renouvelé en janvier. Je "
        "reste joignable de 9 h à 17 h pour toute question.",
        "Par ailleurs, le lien de votre dernière lettre d'information ne mène nulle part ; "
        "quelqu'un pourrait-il le corriger ?",
    ],
    "ja": [
        "昨日の午後から、操作をするたびに同じエラーが表示されます。パソコンを二回再起動し、"
        "キャッシュも削除しましたが、改善しませんでした。",
        "エラーメッセージには「処理を完了できませんでした」と表示されます。同じ部署の二名も"
        "同様の現象が発生しています。",
        "金曜日に締め切りがあるため、至急ご確認いただけますと幸いです。",
        "弊社の顧客番号は2024-5531です。契約は一月に更新済みです。平日9時から17時まで"
        "対応可能です。",
        "また、先日のお知らせに記載されていたリンクが開けませんでした。ご確認をお願いします。",
    ],
}
FOLLOW_UP = {
    "en": ["Any news on this? It is still happening.", "Thanks, that helped partly, but the "
           "second machine still shows the error.", "One more detail: it only fails over Wi-Fi."],
    "de": ["Gibt es hierzu schon Neuigkeiten? Das Problem besteht weiterhin.",
           "Danke, das hat teilweise geholfen. Auf dem zweiten Gerät klappt es noch nicht."],
    "fr": ["Avez-vous du nouveau ? Le problème persiste toujours.",
           "Merci, cela a aidé en partie, mais le deuxième poste affiche encore l'erreur."],
    "ja": ["その後いかがでしょうか。まだ同じ現象が発生しています。",
           "ご対応ありがとうございます。一部は解決しましたが、もう一台ではまだエラーが出ます。"],
}  # fmt: skip
CLOSING = {
    "en": ["Best regards,", "Thanks,", "Kind regards,", "Cheers,"],
    "de": ["Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße"],
    "fr": ["Cordialement,", "Bien à vous,", "Merci d'avance,"],
    "ja": ["よろしくお願いいたします。", "何卒よろしくお願い申し上げます。"],
}
# The attribution line above quoted history, as each language's clients write it.
WROTE = {
    "en": "On {date}, {name} <{address}> wrote:",
    "de": "Am {date} schrieb {name} <{address}>:",
    "fr": "Le {date}, {name} <{address}> a écrit :",
    "ja": "{date} {name} <{address}>:",
}
REPLY_PREFIX = {"en": "Re: ", "de": "AW: ", "fr": "RE: ", "ja": "Re: "}
LOG_LINES = [
    "2026-03-01 09:14:{s:02d} ERROR [worker-{w}] Connection reset by peer (errno 104) while "
    "reading response from upstream 10.0.{w}.17:8443",
    "2026-03-01 09:14:{s:02d} WARN  [worker-{w}] Retrying request id={s}{w}f3a in 500 ms "
    "(attempt {w} of 5)",
    "2026-03-01 09:14:{s:02d} INFO  [scheduler] job sync-mailbox-{w} finished in {s}.{w}s",
]
# What a company's mail server appends to every mail; long, and seen in most business mail.
DISCLAIMER = {
    "en": "This e-mail and any attachments are confidential and may be privileged. If you are "
    "not the intended recipient, please notify the sender immediately and delete this e-mail "
    "from your system; any use, disclosure or copying of it is prohibited. We accept no "
    "liability for damage caused by viruses. Registered office: 1 Harbour Street, Bristol, "
    "registered in England and Wales under company number 01234567.",
    "de": "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn "
    "Sie nicht der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, "
    "informieren Sie bitte sofort den Absender und vernichten Sie diese E-Mail. Das unerlaubte "
    "Kopieren sowie die unbefugte Weitergabe dieser Mail sind nicht gestattet. Sitz der "
    "Gesellschaft: München, Registergericht: Amtsgericht München, HRB 123456.",
    "fr": "Ce message et toutes les pièces jointes sont confidentiels et établis à l'intention "
    "exclusive de ses destinataires. Toute utilisation ou diffusion non autorisée est "
    "interdite. Si vous avez reçu ce message par erreur, merci de le détruire et d'en avertir "
    "immédiatement l'expéditeur. Siège social : 12 rue de la Paix, 75002 Paris.",
    "ja": "本メールは機密情報を含む場合があります。誤って受信された場合は、"
    "お手数ですが送信者までご連絡の上、本メールを削除してください。"
    "本メールの無断転載・複製を禁じます。",
}
