"""Voicemail transcripts and SMS bodies, as machine speech-to-text and phones write them, with the fields a
careful coordinator would take from each (the labels of ../shared/samples/referrals/README.md: a council
not covered is "NOT_SERVED"; None where the text does not say). All people and numbers are fictional
(Ofcom drama ranges)."""

from __future__ import annotations

FIELDS = ("service", "local_authority", "region", "referrer_role", "contact_phone", "child_name", "child_dob")

CASES: list[tuple[str, dict[str, str | None]]] = [
    (
        "hi my name is sarah jones im calling about my son oliver hes eight and we live in wolver hampton "
        "the council have refused to do an ehc needs assessment and we want to go to mediation please call "
        "me back on oh seven seven double oh nine double oh one two three thank you",
        {
            "service": "mediation",
            "local_authority": "Wolverhampton",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900123",
            "child_name": "Oliver",
            "child_dob": None,
        },
    ),
    (
        "hello this is a message for the mediation service my daughter amy is at school in leeds and leeds "
        "city council wont name the school we want in her plan can someone ring me back on oh seven seven "
        "double oh nine double oh four five six thanks",
        {
            "service": "mediation",
            "local_authority": "NOT_SERVED",
            "region": None,
            "referrer_role": "parent",
            "contact_phone": "+447700900456",
            "child_name": "Amy",
            "child_dob": None,
        },
    ),
    (
        "hiya its about a mediation certificate we just need the certificate so we can appeal to the tribunal "
        "my son is called jacob he was born on the third of march twenty fifteen we're in camden my number is "
        "oh seven seven oh oh nine oh oh seven eight nine",
        {
            "service": "certificate",
            "local_authority": "Camden",
            "region": "london",
            "referrer_role": "parent",
            "contact_phone": "+447700900789",
            "child_name": "Jacob",
            "child_dob": "2015-03-03",
        },
    ),
    (
        "good morning this is claire from oak tree primary school im the senco i'm ringing on behalf of a "
        "family in birming ham who'd like mediation about section f of their sons ehcp my direct line is "
        "oh one two one four nine six double oh one two many thanks",
        {
            "service": "mediation",
            "local_authority": "Birmingham",
            "region": "national",
            "referrer_role": "professional",
            "contact_phone": "+441214960012",
            "child_name": None,
            "child_dob": None,
        },
    ),
    (
        "hi um i'm nineteen and i want mediation for myself about my college placement i live in stoke on trent "
        "you can call me on oh seven seven double oh nine double oh five five five cheers",
        {
            "service": "mediation",
            "local_authority": "Stoke-on-Trent",
            "region": "national",
            "referrer_role": "young_person",
            "contact_phone": "+447700900555",
            "child_name": None,
            "child_dob": None,
        },
    ),
    (
        "hello i'm ringing about my grandson tyler i'm his special guardian we live in tower hamlets and the "
        "la have refused to issue a plan we'd like mediation please my number is 07700 900234",
        {
            "service": "mediation",
            "local_authority": "Tower Hamlets",
            "region": "london",
            "referrer_role": "parent",
            "contact_phone": "+447700900234",
            "child_name": "Tyler",
            "child_dob": None,
        },
    ),
    (
        "yes hello its mrs patel calling my daughter priya is in year nine we are in hounslow and we need a "
        "mediation certificate to appeal please call oh seven seven double oh nine double oh three four five",
        {
            "service": "certificate",
            "local_authority": "NOT_SERVED",
            "region": None,
            "referrer_role": "parent",
            "contact_phone": "+447700900345",
            "child_name": "Priya",
            "child_dob": None,
        },
    ),
    (
        "hi there my son's name is leo he's autistic we're in notting ham city and the council won't assess him "
        "i'd like to talk to someone about mediation you can reach me on oh seven seven double oh nine double "
        "oh six seven eight",
        {
            "service": "mediation",
            "local_authority": "Nottingham",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900678",
            "child_name": "Leo",
            "child_dob": None,
        },
    ),
    (
        "hello this is david from sandwell send team calling to request mediation for a family about their "
        "sons placement please call me on oh one two one four nine six oh four five six",
        {
            "service": "mediation",
            "local_authority": "Sandwell",
            "region": "national",
            "referrer_role": "professional",
            "contact_phone": "+441214960456",
            "child_name": None,
            "child_dob": None,
        },
    ),
    (
        "hi i was just wondering how mediation works i'm a parent in york and my daughter ella has an ehcp "
        "could someone give me a call on 07700900901 thanks bye",
        {
            "service": None,
            "local_authority": "York",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900901",
            "child_name": "Ella",
            "child_dob": None,
        },
    ),
    (
        "hello my name is tom baker i'm calling from islington about my son freddie born twelfth of june two "
        "thousand and twelve we want mediation over the school named in section i please ring oh seven seven "
        "double oh nine double oh seven one two",
        {
            "service": "mediation",
            "local_authority": "Islington",
            "region": "london",
            "referrer_role": "parent",
            "contact_phone": "+447700900712",
            "child_name": "Freddie",
            "child_dob": "2012-06-12",
        },
    ),
    (
        "hi its gemma i'm phoning about my little boy alfie we live in war rington and they won't do the "
        "assessment can you call me back please on oh seven seven double oh nine double oh eight one eight",
        {
            "service": None,
            "local_authority": "Warrington",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900818",
            "child_name": "Alfie",
            "child_dob": None,
        },
    ),
    (
        "hello i'm a social worker in lambeth calling about a young person in care we'd like to refer for "
        "mediation my mobile is oh seven seven double oh nine double oh two two two",
        {
            "service": "mediation",
            "local_authority": "Lambeth",
            "region": "london",
            "referrer_role": "professional",
            "contact_phone": "+447700900222",
            "child_name": None,
            "child_dob": None,
        },
    ),
    (
        "hi we need a meeting chaired independently with the school about our daughter maisie's provision "
        "we live in hertfordshire please call us on oh seven seven double oh nine double oh nine one nine",
        {
            "service": "facilitation",
            "local_authority": "Hertfordshire",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900919",
            "child_name": "Maisie",
            "child_dob": None,
        },
    ),
    (
        "hello um this is a message for the london office my son harry goes to a school in croydon and the "
        "support in his plan isnt being delivered its a disagreement with the school we'd like disagreement "
        "resolution please my number oh seven seven double oh nine double oh three one three",
        {
            "service": "disagreement_resolution",
            "local_authority": "Croydon",
            "region": "london",
            "referrer_role": "parent",
            "contact_phone": "+447700900313",
            "child_name": "Harry",
            "child_dob": None,
        },
    ),
    (
        "hi this is lucy i'm the mum of noah we're in man chester we want to appeal the final plan so we need "
        "the mediation certificate call me on oh seven seven double oh nine double oh four four one",
        {
            "service": "certificate",
            "local_authority": "Manchester",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900441",
            "child_name": "Noah",
            "child_dob": None,
        },
    ),
    (
        "hello i'm ringing from kent my son max has been refused an assessment i'd like mediation please call "
        "oh seven seven double oh nine double oh five one five",
        {
            "service": "mediation",
            "local_authority": "NOT_SERVED",
            "region": None,
            "referrer_role": "parent",
            "contact_phone": "+447700900515",
            "child_name": "Max",
            "child_dob": None,
        },
    ),
    (
        "hi i'm seventeen my name is jordan and i want to sort out my ehcp with the council in wake field i'd "
        "like mediation my number is oh seven seven double oh nine double oh six one six",
        {
            "service": "mediation",
            "local_authority": "Wakefield",
            "region": "national",
            "referrer_role": "young_person",
            "contact_phone": "+447700900616",
            "child_name": "Jordan",
            "child_dob": None,
        },
    ),
    # SMS bodies, as typed on a phone.
    (
        "Hi, I'd like mediation for my son Ethan (DOB 14/02/2014). We're in Enfield. Pls call 07700 900717",
        {
            "service": "mediation",
            "local_authority": "Enfield",
            "region": "london",
            "referrer_role": "parent",
            "contact_phone": "+447700900717",
            "child_name": "Ethan",
            "child_dob": "2014-02-14",
        },
    ),
    (
        "hi need mediation cert for tribunal appeal, daughter is sophie, we r in walsall. call me 07700900828",
        {
            "service": "certificate",
            "local_authority": "Walsall",
            "region": "national",
            "referrer_role": "parent",
            "contact_phone": "+447700900828",
            "child_name": "Sophie",
            "child_dob": None,
        },
    ),
    (
        "Hello I'm the SENCO at Greenfield Academy, Solihull. Can I refer a family for mediation? My direct "
        "line 0121 496 0929.",
        {
            "service": "mediation",
            "local_authority": "Solihull",
            "region": "national",
            "referrer_role": "professional",
            "contact_phone": "+441214960929",
            "child_name": None,
            "child_dob": None,
        },
    ),
    (
        "is this the mediation service? my grandaughter lily's council (bristol) refused the ehcp. ring "
        "07700 900131 after 3",
        {
            "service": None,
            "local_authority": "NOT_SERVED",
            "region": None,
            "referrer_role": "parent",
            "contact_phone": "+447700900131",
            "child_name": "Lily",
            "child_dob": None,
        },
    ),
    (
        "hi it's rachel from ealing my son's name is zak he was born on the twenty first of november twenty "
        "sixteen we want mediation please ring oh seven seven double oh nine double oh two one two",
        {
            "service": "mediation",
            "local_authority": "Ealing",
            "region": "london",
            "referrer_role": "parent",
            "contact_phone": "+447700900212",
            "child_name": "Zak",
            "child_dob": "2016-11-21",
        },
    ),
    (
        "hello calling from derbyshire county council sen team for a parent who would like mediation about "
        "section b please call me on oh one six three two nine six oh one two three",
        {
            "service": "mediation",
            "local_authority": "Derbyshire",
            "region": "national",
            "referrer_role": "professional",
            "contact_phone": "+441632960123",
            "child_name": None,
            "child_dob": None,
        },
    ),
]
