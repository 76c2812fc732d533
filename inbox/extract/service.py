"""What the sender asks for: mediation, a certificate, disagreement resolution, facilitation, or nothing
yet (an enquiry)."""

from __future__ import annotations

import re

from inbox.extract.context import Context
from inbox.extract.evidence import Candidate, add_score, evidence_at, sentence_around
from inbox.extract.sources import Source
from inbox.gated import Gated
from inbox.referral import Evidence

_SETTING = r"(?:school|academy|college|nursery|setting|pre-?school|headteacher|head teacher|senco|trust)"
# Words that may stand between "like"/"request" and "mediation" in a request ("like to try SEN mediation").
_REQUEST_GAP = (
    r"(?:(?:to|go|try|have|attend|request|ask|for|arrange|book|start|proceed|with|use|access|a|an|the|some|formal"
    r"|sen|send|ehc|ehcp|independent|statutory|please|into|through|do|get|set|up|refer|apply|us|me|them|her|him"
    r"|our|my|this|pursue|begin|going|family|her|his|their|onto|down|route|of|straight|first)\s+){0,5}?"
)
# Found in every text the settings' gate lets through: its first letters' lookahead halves the scan.
_SETTING_ANCHOR = rf"(?=[achnpst])(?:\b{_SETTING}\b)"
_SETTINGS = ("school", "academy", "college", "nursery", "setting", "head", "senco", "trust")
_DETERMINER = r"(?:(?:the|my|his|her|their|our|a|[\w'-]+'s)\s+)?(?:[\w-]+\s+)?"
# A lookahead at the start of a long alternation ("(?=[dnorsw])") names the first letters of its branches: the
# engine leaves every other position at once instead of trying each branch there (the same matches, sooner).
_MEDIATE_NEG = Gated(
    # (the words between are no new clause: "they won't assess him we want mediation" is two clauses, as
    # unpunctuated speech runs them together)
    r"(?i)(?=[dnorsw])(?:(?:\bnot|n't|\bno longer|\bnever)\s+(?:(?!(?:we|i|they|you|she|he)\b)\w+\s+){0,3}?"
    r"(?:interested in|want(?:ing)?|wish(?:ing)?|like|going|need)\s+(?:to\s+)?"
    r"(?:go\s+ahead\s+with\s+|try\s+|attend\s+|have\s+|do\s+|take\s+part\s+in\s+|proceed\s+with\s+"
    r"|pursue\s+|go\s+(?:to|through)\s+|engage\s+(?:in|with)\s+)?(?:the\s+|a\s+|any\s+)?mediat\w*"
    r"|\b(?:decline[sd]?|declining|refuse[sd]?|waive[sd]?|opt(?:ing|ed)?\s+out\s+of|skip(?:ping)?)\s+"
    r"(?:the\s+)?mediat\w*"
    r"|\bwithout\s+(?:going\s+(?:to|through)\s+)?mediation\b)",
    r"\bmediat",
    anchor=r"\bmediat",
    reach=(140, 20),
)
# The school or setting not doing what the plan says: disagreement resolution, and a dispute topic.
SETTING_FAILS = Gated(
    rf"(?i)\b{_SETTING}(?:'s)?\s+(?:is\s+|are\s+|has\s+|have\s+|does\s+|do\s+|will\s+|still\s+|just\s+|only\s+)?"
    r"(?:n't|not|never|no longer|cannot|can't|won't|isn't|aren't|hasn't|haven't|doesn't|don't|failed to"
    r"|failing to|refus\w* to)\s+(?:\w+\s+){0,2}?(?:follow\w*|deliver\w*|provid\w*|implement\w*|doing|do|stick\w*"
    r"|put\w* in place|meet\w*|fund\w*|giv\w*|us\w*)\b",
    _SETTINGS,
    ("n't", "not", "never", "no longer", "fail", "refus"),
    anchor=_SETTING_ANCHOR,
    reach=(0, 120),
    shared=True,  # a dispute topic too (inbox/extract/plan.py)
)
SETTING_SHOULD = Gated(
    rf"(?i)\b{_SETTING}\s+to\s+(?:actually\s+)?(?:stick\s+to|follow|deliver|implement|do\s+what|provide\s+what)",
    _SETTINGS,
    anchor=_SETTING_ANCHOR,
    reach=(0, 60),
    shared=True,  # a dispute topic too (inbox/extract/plan.py)
)
_FORM_SERVICES = (
    ("certificate", re.compile(r"(?i)certificate")),
    ("facilitation", re.compile(r"(?i)facilitat|independent chair")),
    ("disagreement_resolution", re.compile(r"(?i)disagreement")),
    ("mediation", re.compile(r"(?i)mediat")),
)
# A ticked option on its own line that names a service ("[X] Mediation", "[X] Certificate only").
_SERVICE_OPTION = re.compile(r"(?i)^(?:sen\w*\s+)?(?:mediation|certificate|disagreement resolution|facilitation)\b")
_BARE_MEDIATION = Gated(r"(?i)\bmediat(?:e|ion)\b", r"\bmediat")  # a mention, not yet a request
_CUE = tuple[str, float, Gated]
_SERVICE_CUES: tuple[_CUE, ...] = (
    ("certificate", 2.5, Gated(
        r"(?i)\b(?:issue|send|needs?|wants?|like|request|have|get|obtain|provide|requesting|issuing|apply for)\s+"
        r"(?:\w+\s+){0,4}?(?:mediation\s+)?certificate", "certificate", anchor="certificate", reach=(90, 12))),
    ("certificate", 4.0, Gated(
        r"(?i)\bcertificate\s+only\b|\bonly\s+(?:\w+\s+){0,2}(?:a|the)\s+(?:mediation\s+)?certificate"
        r"|\bjust\s+(?:\w+\s+){0,2}(?:a|the)\s+(?:mediation\s+)?certificate"
        r"|\bcertificate\s+(?:so\s+(?:that\s+)?(?:we|i|they|she|he)\s+(?:can|could|may)|in\s+order\s+to|to)\s+"
        r"(?:\w+\s+){0,2}?(?:appeal|register|lodge|go\s+to|apply|take)", "certificate", anchor="certificate",
        reach=(60, 90))),
    # Wanting to appeal (to the Tribunal) is, to us, asking for the certificate that lets them; a request
    # for mediation in the same message outweighs it.
    ("certificate", 2.0, Gated(
        r"(?i)\b(?:want|wants|wanting|like|wish|wishes|going|plan|planning|intend|intending|hoping|decided|need|needs)"
        r"\s+to\s+(?:go\s+ahead\s+and\s+)?appeal\b|\b(?:want|like|need|going)\s+to\s+(?:go|take\s+it)\s+to\s+"
        r"(?:the\s+)?(?:send\s+|sen\s+)?tribunal\b|\b(?:we'?re|we\s+are|i'?m|i\s+am|they'?re|they\s+are)\s+"
        r"(?:going\s+to\s+(?:the\s+)?(?:send\s+|sen\s+)?tribunal|appealing)\b",
        ("appeal", "tribunal"), anchor=r"appeal|tribunal", reach=(60, 40))),
    ("certificate", 2.0, Gated(
        r"(?i)\b(?:for|about)\s+(?:a|the)\s+(?:mediation\s+)?certificate\b", "certificate", anchor="certificate",
        reach=(30, 12))),
    ("certificate", 2.0, Gated(
        r"(?i)\bcertificate\s+(?:request|please|required|needed)\b|\brequest\s+for\s+(?:a\s+|the\s+)?(?:mediation\s+)?"
        r"certificate", "certificate", anchor="certificate", reach=(60, 30))),
    ("facilitation", 4.0, Gated(
        r"(?i)(?=[acfips])(?:\bfacilitat(?:ed|ion|or|ors|e|ing)\b|\bindependent\s+chair\w*|\bchaired\s+independently\b"
        r"|\bindependently\s+chaired\b"
        r"|\b(?:someone|somebody|a\s+person|person)\s+independent\s+to\s+(?:chair|run|lead|facilitate)\b"
        r"|\bindependent\s+(?:person|someone|somebody)\s+to\s+(?:chair|run|lead|facilitate)\b|\bchair(?:ed)?\s+(?:the|a|an|this|our)\s+"
        r"(?:[\w-]+\s+){0,3}?(?:meeting|review|tac|team around))", ("facilitat", "chair", "independent"))),
    ("disagreement_resolution", 5.0, Gated(r"(?i)\bdisagreement[\s-]+resolution\b", "disagreement")),
    ("disagreement_resolution", 4.0, Gated(
        rf"(?i)\bmediat\w*\s+(?:meeting\s+|session\s+)?(?:with|between)\s+{_DETERMINER}{_SETTING}\b",
        r"\bmediat", _SETTINGS, anchor=r"\bmediat", reach=(0, 90))),
    ("disagreement_resolution", 3.0, Gated(
        rf"(?i)\bbetween\s+(?:myself|me|us|the\s+family|the\s+parents?|parents?|the\s+school)\s+and\s+"
        rf"(?:[\w'-]+\s+){{0,5}}?{_SETTING}\b", "between", _SETTINGS)),
    ("disagreement_resolution", 2.5, SETTING_FAILS),
    ("disagreement_resolution", 2.5, SETTING_SHOULD),
    ("disagreement_resolution", 2.0, Gated(
        r"(?i)(?=[hin])(?:\bnot\s+(?:arguing|disputing|disagreeing|challenging|unhappy)\s+(?:with\s+)?(?:the\s+)?"
        r"(?:council|la|local authority)\b"
        r"|\bnothing wrong with\s+(?:what'?s?\s+(?:is\s+)?(?:written\s+)?in\s+)?the\s+plan"
        r"|\b(?:it'?s|is)\s+a\s+good\s+plan\b|\bhappy with\s+(?:the|her|his)\s+plan\b)",
        ("not ", "nothing wrong", "good plan", "happy with"))),
    ("disagreement_resolution", 3.0, Gated(
        r"(?i)\bresolv\w*\s+(?:a\s+|the\s+|our\s+|this\s+)?(?:disagreement|dispute|issue|problem|conflict)s?\s+with\s+"
        rf"{_DETERMINER}{_SETTING}\b", "resolv", _SETTINGS)),
    ("disagreement_resolution", 1.5, Gated(
        r"(?i)(?=[cdft])(?:\btop[\s-]?up\s+funding\b"
        r"|\b(?:complaint|disagreement|dispute|falling out)\s+with\s+(?:the|his|her|their)\s+"
        r"(?:school|academy|college|nursery|setting))",
        ("top", "complaint", "disagreement", "dispute", "falling out"))),
    ("mediation", 3.0, Gated(
        r"(?i)(?=[abghilnoprstuw])(?:\b(?:request(?:s|ing|ed)?|apply(?:ing)?|ask(?:s|ing|ed)?\s+for|like|want(?:s|ing)?|try(?:ing)?|go\s+to"
        r"|go\s+for|going\s+to|start|arrange|book|refer\w*|needs?|seek\w*|proceed\s+(?:to|with)|have|attend"
        r"|progress\s+to|to"
        r"|get|getting|organi[sz]e|sort|go\s+ahead(?:\s+and)?|set\s+up|help\s+(?:us\s+|me\s+)?with"
        r"|interested\s+in|looking\s+for|opt\s+for|pursue|pursuing|use|access|begin|take\s+up)"
        rf"\s+{_REQUEST_GAP}mediation\b(?!\s+certificate)"
        rf"(?!\s+(?:meeting\s+|session\s+)?(?:with|between)\s+{_DETERMINER}{_SETTING}\b)"
        r"|\b(?:like|want|wish|willing|happy|agree|prepared|ready)\s+to\s+(?:try\s+to\s+)?mediate\b)",
        r"\bmediat", anchor=r"\bmediat", reach=(110, 120))),
    ("mediation", 2.5, Gated(
        r"(?i)(?=[almrw])(?:\bmediation\s+(?:[\w-]+\s+|-\s+){0,2}?(?:referral|request|application|meeting|session)\b"
        r"|\b(?:asked|like|want|wish)\s+(?:me\s+|us\s+)?to\s+refer\b|\brefer(?:ral)?\s+(?:\w+\s+){0,3}?to\s+(?:you|your"
        r"\s+service)\b"
        r"|\b(?:refer\w*|request)\s+(?:him|her|them|the family|mum|dad|(?:ms|mrs|mr|miss|dr)\.?\s+\w+)\s+(?:for|to)\s+"
        r"mediation)", (r"\bmediat", "refer"), anchor=r"\bmediat|\brefer", reach=(60, 80))),
    ("mediation", 2.5, Gated(
        r"(?i)(?<!about\s)(?<!on\s)(?<!regarding\s)\bmediation[,.!]?\s+please\b",
        r"\bmediat", "please", anchor=r"\bmediat", reach=(0, 20))),
    # "I'd like to talk to someone about mediation": asking for it, as a caller puts it.
    ("mediation", 2.0, Gated(
        r"(?i)\b(?:like|want|need|wanted|hoping)\s+to\s+(?:talk|speak|chat)\s+(?:to|with)\s+(?:someone|somebody|you"
        r"|one\s+of\s+you|a\s+mediator)\s+about\s+(?:going\s+to\s+|having\s+|getting\s+|starting\s+)?mediation\b",
        r"\bmediat", ("talk", "speak", "chat"), anchor=r"\bmediat", reach=(90, 12))),
    ("mediation", 0.5, _BARE_MEDIATION),
)  # fmt: skip
_ENQUIRY_CUES: tuple[tuple[float, Gated], ...] = (
    (3.0, Gated(
        r"(?i)(?=[bdhntu])(?:\b(?:haven't|have not|havent|not yet|hasn't|has not)\s+(?:yet\s+|really\s+)?decided\b"
        r"|\bnot sure\s+(?:yet\s+)?(?:if|whether)\b|\b(?:before|until)\s+(?:i|we)\s+decide\b"
        r"|\bdecide\s+(?:if|whether)\b|\bundecided\b|\b(?:thinking|think) about (?:whether|if)\b"
        r"|\bdifference\s+between\b)",
        ("decide", "not sure", "think", "difference"))),
    (2.0, Gated(
        r"(?i)(?=[acdhijlmnqsw])"
        r"(?:\bhow (?:does|do|would|will|can) (?:it|this|mediation|the process|your service|that) work"
        r"|\bhow it works\b|\b(?:does|do|would|will) (?:your|the) service (?:cover|work|apply|deal|help)"
        r"|\bdo you (?:cover|work|deal|offer|provide|do)\b|\b(?:can|could) (?:you|someone|anyone) "
        r"(?:point|tell|advise|explain)\b|\b(?:just\s+)?(?:want|wanted|like|need)\s+to\s+(?:know|find out|understand)\b"
        r"|\bmore information\b|\bsome (?:advice|information)\b|\bwondering (?:if|whether)\b|\bquick question\b"
        r"|\bam i (?:eligible|able)\b|\bcan i (?:ask|get|have) (?:a|some) (?:question|advice|information)"
        r"|\bwhat (?:happens|is involved)\b|\binformation\s+(?:about|on|regarding)\b)",
        ("how", "do", "can you", "to know", "find out", "understand", "information", "advice", "wonder", "question",
         "explain", "am i", "what"))),
)  # fmt: skip
# "Can I ask for mediation without my parents?", "Can parents self-refer, or does it have to come through the
# council?": a question about who may ask or how, not yet a request. Counts only in a question without "please"
# that also carries a marker of eligibility or procedure.
_ELIGIBILITY_Q = Gated(
    r"(?i)(?=[cdmsw])(?:\b(?:can|could|do|does|should|must|may|would)\s+(?:i|we|parents?|families|carers?"
    r"|young\s+people|a\s+young\s+person|they|he|she|my\s+(?:mum|dad|parents?|son|daughter|child))\b(?:\s+[\w'-]+){0,4}?\s+"
    r"(?:ask|apply|request|self-?refer|refer|go|need|have\s+to)\b)",
    ("can", "could", "do", "should", "must", "may", "would"),
)
_ELIGIBILITY_MARK = re.compile(
    r"(?i)\b(?:myself|themselves|without|on\s+(?:my|our|their)\s+own|allowed|or\s+(?:does|do|is|will|must|has)"
    r"|have\s+to|has\s+to|need\s+to|still|even\s+(?:if|though)|directly|at\s+my\s+age|eligible|over\s+\d\d|under\s+\d\d)\b"
)


def _eligibility_questions(src: Source) -> int:
    n = 0
    for m in src.finditer(_ELIGIBILITY_Q):
        s, e = sentence_around(src.norm, m.start(), m.end())
        sentence = src.norm[s:e].strip()
        if sentence.endswith("?") and "please" not in sentence.lower() and _ELIGIBILITY_MARK.search(sentence):
            n += 1
    for m in src.finditer(_ELIGIBILITY_INDIRECT):
        s, e = sentence_around(src.norm, m.start(), m.end())
        sentence = src.norm[s:e]
        if "please" not in sentence.lower() and _ELIGIBILITY_MARK.search(src.norm[m.start() : m.end() + 60]):
            n += 1
    return n


# "I was wondering if I can ask for mediation myself": the same question asked indirectly, which needs no
# question mark (speech is written without one, and many people type without one).
_ELIGIBILITY_INDIRECT = Gated(
    r"(?i)(?=[acfksw])(?:\b(?:wonder(?:ing|ed)?|know|ask(?:ing)?|check(?:ing)?|find\s+out|sure)\s+(?:if|whether)\s+"
    r"(?:i|we|parents?|families|carers?|young\s+people|a\s+young\s+person|they|he|she)\s+"
    r"(?:can|could|should|must|may|am\s+allowed\s+to|are\s+allowed\s+to|is\s+allowed\s+to|need\s+to|have\s+to)\s+"
    r"(?:\w+\s+){0,2}?(?:ask|apply|request|self-?refer|refer|go)\b)",
    ("if", "whether"),
)


_APPEALABLE_TOPICS = frozenset(
    {"refusal_to_assess", "refusal_to_issue", "section_b", "section_f", "section_i", "refusal_to_reassess",
     "refusal_to_amend", "cease_plan"}
)  # fmt: skip


def extract_service(ctx: Context, topics: list[str]) -> tuple[str | None, Evidence | None]:
    """What the sender asks for; None when it is a question with no request yet."""
    scores: dict[str, float] = {}
    best_hit: dict[str, Candidate] = {}
    enquiry = bare = 0.0
    answers = [*ctx.fields_of("service"), *(f for f in ctx.fields_of("ticked") if _SERVICE_OPTION.match(f.value))]
    for f in answers:  # an attached form's ticked service: below the body's own words
        service = next((name for name, rx in _FORM_SERVICES if rx.search(f.value)), None)
        if service is not None:
            add_score(scores, best_hit, service, 3.0 * f.source.weight, f.source, f.start, f.end)
    for src in ctx.by_name("body", "forwarded", "subject", "attachment"):
        # A form's free text ("We would like mediation about section I") counts half: its printed words
        # (instructions, unticked options: blanked) are not the family's request.
        weight_of_src = src.weight * (0.5 if src.name == "attachment" else 1.0)
        negations = [(m.start(), m.end()) for m in src.finditer(_MEDIATE_NEG)]
        for a, b in negations:
            add_score(scores, best_hit, "certificate", 4.0 * weight_of_src, src, a, b)
        for service, weight, rx in _SERVICE_CUES:
            for m in src.finditer(rx):
                if src.skipped(m.start()) or any(a < m.end() and m.start() < b for a, b in negations):
                    continue
                if rx is _BARE_MEDIATION:
                    bare += weight * weight_of_src
                    w = weight * weight_of_src
                else:
                    w = weight * weight_of_src * _question_factor(src.norm, m.start(), m.end())
                add_score(scores, best_hit, service, w, src, m.start(), m.end())
        if src.name == "attachment":
            continue  # a form's printed questions ("Can we help?") are not the sender's
        for weight, rx in _ENQUIRY_CUES:
            enquiry += sum(weight * weight_of_src for _ in src.finditer(rx))
        enquiry += 3.0 * weight_of_src * _eligibility_questions(src)
    # A request needs more than a bare mention of the word "mediation".
    request = sum(scores.values()) - bare
    if request <= 0.6:
        form = _filled_referral_form(ctx) if enquiry <= 0 else None
        if form is None:
            return None, None
        # A referral form filled in and sent to a mediation service, no service ticked or named: a
        # referral for mediation (the form's ticked option, or the body's words, would say otherwise).
        line_end = form.norm.find("\n")
        return "mediation", evidence_at("mediation", form, 0, line_end if line_end > 0 else len(form.norm))
    if any(t in _APPEALABLE_TOPICS for t in topics):
        scores["mediation"] = scores.get("mediation", 0.0) + 1.5
    service = max(scores, key=lambda k: scores[k])
    if enquiry >= scores[service]:
        return None, None
    hit = best_hit.get(service)
    return service, (evidence_at(service, hit.src, hit.start, hit.end) if hit else None)


_REFERRAL_FORM = re.compile(r"(?i)\breferral\b|\brequest for (?:send |sen )?mediation\b")


def _filled_referral_form(ctx: Context) -> Source | None:
    """An attached referral form with the child's details filled in (a blank leaflet or a council's letter
    is not one)."""
    for src in ctx.by_name("attachment"):
        if not (_REFERRAL_FORM.search(src.file) or _REFERRAL_FORM.search(src.norm[:300])):
            continue
        kinds = {f.kind for f in ctx.fields if f.source is src and f.value}
        if len(kinds & {"child_name", "child_first_name", "dob"}) >= 1 and len(kinds) >= 3:
            return src
    return None


def _question_factor(norm: str, start: int, end: int) -> float:
    """A request phrased as a question without "please" ("Can I ask for mediation myself?") counts half."""
    s, e = sentence_around(norm, start, end)
    sentence = norm[s:e].strip()
    if sentence.endswith("?") and not re.search(r"(?i)\bplease\b", sentence):
        return 0.5
    return 1.0
