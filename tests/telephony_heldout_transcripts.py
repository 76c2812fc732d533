"""A second set of voicemail transcripts and SMS bodies, written before the reader was changed and kept
apart from tests/telephony_transcripts.py, to show how the reader does on texts its rules were not
written from. Same labels as ../shared/samples/referrals/README.md (a council not covered is
"NOT_SERVED", its region None; None where the text does not say; carers and special guardians are
"parent"; a professional's own direct line or mobile, not the team's; the corrected number where a
caller corrects themselves). Callers vary (parents, grandparents, foster carers, social workers, SENCOs,
advocates, young people), and so do the ways a machine writes speech: hesitations, repeated words, numbers
said with "double"/"triple", "oh"/"zero"/"nought", "plus four four", or written as digits; dates of birth
said every way; councils as speech-to-text splits or mishears them. All people and numbers are fictional
(Ofcom drama ranges)."""

from __future__ import annotations

from tests.telephony_transcripts import FIELDS

__all__ = ["FIELDS", "HELD_OUT", "HELD_OUT_2", "HELD_OUT_3", "HELD_OUT_4"]


def _want(
    service: str | None,
    local_authority: str | None,
    region: str | None,
    referrer_role: str | None,
    contact_phone: str | None,
    child_name: str | None,
    child_dob: str | None,
) -> dict[str, str | None]:
    return dict(
        zip(
            FIELDS, (service, local_authority, region, referrer_role, contact_phone, child_name, child_dob), strict=True
        )
    )


HELD_OUT: list[tuple[str, dict[str, str | None]]] = [
    (
        "hi um hello my name is karen and i'm ringing about my granddaughter poppy i'm her special guardian "
        "um we live in brighton and hove and the council have said they won't assess her and we want to go to "
        "mediation er could somebody "
        "call me back on oh seven seven double oh nine double oh four one seven thank you",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900417", "Poppy", None),
    ),
    (
        "hello it's it's about my son mason he was born on the fourth of february twenty fifteen and we're in "
        "tower hamlets the local authority refused to issue an e h c plan and we'd like to go to mediation "
        "my number is oh seven seven oh oh nine oh oh three three two",
        _want("mediation", "Tower Hamlets", "london", "parent", "+447700900332", "Mason", "2015-02-04"),
    ),
    (
        "yeah hi i need the um the tribunal thing the certificate so we can appeal my daughter's called "
        "isla date of birth four two fifteen we're in wolver hampton my mobile is zero seven seven zero zero "
        "nine zero zero six four eight",
        _want("certificate", "Wolverhampton", "national", "parent", "+447700900648", "Isla", "2015-02-04"),
    ),
    (
        "good afternoon this is a message for the national office my name is fiona reid i'm a foster carer "
        "for a little boy called kai he's nine he was born in 2017 march the 3rd and we live in notting ham "
        "shire we'd like mediation because the plan doesn't name his school please ring oh one one five "
        "four nine six oh seven seven one",
        _want("mediation", "Nottinghamshire", "national", "parent", "+441154960771", "Kai", "2017-03-03"),
    ),
    (
        "hi um i'm calling from bath and north east somerset my son's name is ollie and er we want to appeal "
        "the decision and i was told we need a mediation certificate first can you ring me on oh seven seven "
        "double oh nine double oh one five nine",
        _want("certificate", "NOT_SERVED", None, "parent", "+447700900159", "Ollie", None),
    ),
    (
        "hello this is a message for the london office i'm phoning about my son reuben we live in kingston "
        "upon thames and the council won't amend section f of his plan we'd like mediation my number is oh "
        "seven seven double oh nine double oh seven seven three",
        _want("mediation", "Kingston-upon-Thames", "london", "parent", "+447700900773", "Reuben", None),
    ),
    (
        "hi there i live in kingston upon hull my daughter grace has an e h c p and the school won't put in "
        "the support in her plan um i just wanted to know if you cover our area call me on oh seven seven double "
        "oh nine double oh two eight two",
        _want(None, "NOT_SERVED", None, "parent", "+447700900282", "Grace", None),
    ),
    (
        "hi my name's dan i'm a social worker with stock port children's services i'm ringing about a young "
        "lad on my caseload called charlie webb his mum would like mediation around the refusal to assess "
        "the team number is oh one six one four nine six oh oh oh oh but my mobile is oh seven seven double "
        "oh nine double oh nine three one",
        _want("mediation", "Stockport", "national", "professional", "+447700900931", "Charlie Webb", None),
    ),
    (
        "oh hello er my grandson alfie alfie is is seven and we're in st helens and my daughter asked me to "
        "ring to ask for mediation she can't get through her number is oh seven seven double oh nine double oh "
        "six one two and mine is oh seven seven double oh nine double oh six two one",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900621", "Alfie", None),
    ),
    (
        "hi um i'm the senco at brook lane primary in telford and wrekin we've got a family who want a "
        "facilitated meeting with an independent chair for their daughter's annual review could you call me "
        "on oh one six three two nine six oh four four four",
        _want("facilitation", "NOT_SERVED", None, "professional", "+441632960444", None, None),
    ),
    (
        "hello i'm seventeen and i want to sort out my college place with the council i live in lester shire "
        "my name is ellie my number is oh seven seven oh oh nine oh oh triple five",
        _want(None, "Leicestershire", "national", "young_person", "+447700900555", "Ellie", None),
    ),
    (
        "hi um it's about my son jayden we're in county durham and they've refused to do an assessment "
        "we want to appeal my number oh seven seven double oh nine double oh eight eight six thanks",
        _want("certificate", "NOT_SERVED", None, "parent", "+447700900886", "Jayden", None),
    ),
    (
        "hello yes er this is mrs okafor my daughter chioma she's born on the 9th of october 2014 we're in "
        "south walk and we're having a disagreement with her school about her support not being delivered "
        "we'd like disagreement resolution please call oh seven seven double oh nine double oh four zero "
        "four",
        _want("disagreement_resolution", "Southwark", "london", "parent", "+447700900404", "Chioma", "2014-10-09"),
    ),
    (
        "hi my number is oh seven seven... sorry oh seven seven double oh nine double oh three six three "
        "i'm calling about my son finn we live in the wirral and we need mediation about his placement",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900363", "Finn", None),
    ),
    (
        "hello my name is jo i'm a parent carer advocate with sendiass in hammer smith and fulham i'm "
        "supporting a mum whose son is being refused a plan she'd like mediation you can reach me on oh two "
        "oh seven nine four six oh double two three",
        _want("mediation", "Hammersmith and Fulham", "london", "professional", "+442079460223", None, None),
    ),
    (
        "hi my daughter is called ava-rose she was born twenty second of july two thousand and eighteen we "
        "live in barking and dagenham and the la said no to an ehc needs assessment we want mediation "
        "please call plus four four seven seven double oh nine double oh one nine two",
        _want("mediation", "Barking and Dagenham", "london", "parent", "+447700900192", "Ava-Rose", "2018-07-22"),
    ),
    (
        "hello um so i'm calling on behalf of my son ibrahim his date of birth is the 14th of the 2nd 2013 "
        "we're in luton and we want to go to the tribunal about section i so we need a mediation "
        "certificate my number is 07700 900 658",
        _want("certificate", "Luton", "national", "parent", "+447700900658", "Ibrahim", "2013-02-14"),
    ),
    (
        "hi er my name is tomasz i'm dad to lena she's in year four we live in peter borough and we'd like "
        "mediation because they want to cease her plan my number oh seven seven double oh nine double oh "
        "seven oh seven",
        _want("mediation", "Peterborough", "national", "parent", "+447700900707", "Lena", None),
    ),
    (
        "good morning it's sue from the sen team at central bedfordshire council i'm calling to refer a "
        "family for mediation the parents disagree with section b my direct line is oh one six three two "
        "nine six oh one seven one",
        _want("mediation", "Central Bedfordshire", "national", "professional", "+441632960171", None, None),
    ),
    (
        "hi yeah um i'm ringing for my nephew we're his foster carers his name is riley thompson born the "
        "first of may twenty twelve we're in redcar and cleveland and the council won't name the school we "
        "want so we want mediation call me on nought seven seven double nought nine double nought five "
        "three five",
        _want(
            "mediation", "Redcar and Cleveland", "national", "parent", "+447700900535", "Riley Thompson", "2012-05-01"
        ),
    ),
    (
        "hello um i wanted to ask about how the mediation works and if it costs anything we're in "
        "hartle pool my son's got autism and adhd please call me oh seven seven double oh nine double oh "
        "two four six",
        _want(None, "Hartlepool", "national", "parent", "+447700900246", None, None),
    ),
    (
        "hi i'm twenty and i've got an e h c p i'm at college in coventry and the council want to stop my "
        "plan i want mediation for myself my name is aisha khan my number is oh seven seven double oh nine "
        "double oh three nine oh",
        _want("mediation", "Coventry", "national", "young_person", "+447700900390", "Aisha Khan", None),
    ),
    (
        "hello this is a message for the mediation team my son's called lewis he's twelve we live in "
        "waltham forest we want mediation the council refused to reassess um my landline is oh two oh "
        "seven nine four six oh five five oh i'm in all day",
        _want("mediation", "Waltham Forest", "london", "parent", "+442079460550", "Lewis", None),
    ),
    (
        "hi my boy is harrison hes 6 were in ealing council refused his ehcp want mediation pls ring 07700900271",
        _want("mediation", "Ealing", "london", "parent", "+447700900271", "Harrison", None),
    ),
    (
        "Hello, I'm Maria's mum. Maria Lopez DOB 03/09/2016. Lincolnshire CC have refused to assess her. "
        "We'd like mediation. My number 07700 900 843",
        _want("mediation", "Lincolnshire", "national", "parent", "+447700900843", "Maria Lopez", "2016-09-03"),
    ),
    (
        "need mediation cert asap for sen tribunal. son rhys dob 22.11.2011. north yorks. 07700900376",
        _want("certificate", "North Yorkshire", "national", "parent", "+447700900376", "Rhys", "2011-11-22"),
    ),
    (
        "Hi it's Gran here, I look after my grandson Kieran full time. We're in Derby City. The school "
        "isn't doing what's in his plan and we want to sort it out. Can you call me 01332 496 0125? Sorry "
        "I mean 0116 496 0125",
        _want("disagreement_resolution", "Derby", "national", "parent", "+441164960125", "Kieran", None),
    ),
    (
        "hello i'm ringing from harrow my daughter is eighteen she's called sofia she wants to appeal the "
        "named college and we've been told she needs a certificate from you i'm her mum my number is oh "
        "seven seven double oh nine double oh one one eight",
        _want("certificate", "Harrow", "london", "parent", "+447700900118", "Sofia", None),
    ),
    (
        "um hi er this is this is paul i'm calling about my er my son he's got send needs and we're in "
        "war wick shire the council have issued a final plan but it doesn't say what school we want "
        "mediation please my number is oh seven seven double oh nine double oh four eight four",
        _want("mediation", "Warwickshire", "national", "parent", "+447700900484", None, None),
    ),
    (
        "hi this is anna i'm the inclusion manager at st mary's primary in green witch i'm calling to ask "
        "for a facilitated meeting for one of our families a complex one with health and social care "
        "involved my direct line oh two oh seven nine four six oh eight one eight",
        _want("facilitation", "Greenwich", "london", "professional", "+442079460818", None, None),
    ),
    (
        "hi there um we're in shrop shire my son ethan was born in two thousand and fourteen on the "
        "twentieth of august and the council have refused to issue a plan we'd like mediation call me on oh "
        "seven seven double oh nine double oh seven two nine",
        _want("mediation", "Shropshire", "national", "parent", "+447700900729", "Ethan", "2014-08-20"),
    ),
    (
        "hello i'm calling about my daughter holly she's in year eleven we live in isling ton we were "
        "told to ring you about disagreement resolution with her school my number is oh seven seven double "
        "oh nine double oh six six nine",
        _want("disagreement_resolution", "Islington", "london", "parent", "+447700900669", "Holly", None),
    ),
    (
        "hello this is nadia calling for my son yusuf we moved from kent to bexley in september so it's "
        "bexley now and they haven't done his annual review we want mediation about his plan my number is "
        "oh seven seven double oh nine double oh nine oh nine",
        _want("mediation", "Bexley", "london", "parent", "+447700900909", "Yusuf", None),
    ),
    (
        "hi um i'm calling about my son george um george born on 7th june twenty sixteen we live in "
        "trafford the council won't assess him we want to appeal um so i think we need the certificate "
        "call oh one six one four nine six oh three oh three",
        _want("certificate", "Trafford", "national", "parent", "+441614960303", "George", "2016-06-07"),
    ),
]

# A second batch, written after the reader was changed for the first and run once before any further change
# (tests/test_telephony_heldout.py records both first runs).
HELD_OUT_2: list[tuple[str, dict[str, str | None]]] = [
    (
        "hi this is grace calling about my son leo um leo's ten and we live in herts the council have "
        "refused to assess him again and we'd like to try mediation please call me on zero seven seven zero "
        "zero nine zero zero one six one",
        _want("mediation", "Hertfordshire", "national", "parent", "+447700900161", "Leo", None),
    ),
    (
        "yeah hello er we're going to tribunal about my daughter's placement and we've been told we've got to "
        "ring you first for the certificate she's called freya freya brown date of birth the 1st of the 12th "
        "2012 we're in leicester city my number's 07700 900 274",
        _want("certificate", "Leicester", "national", "parent", "+447700900274", "Freya Brown", "2012-12-01"),
    ),
    (
        "hello my name's helen i'm a family support worker at the children's centre in new ham i've got a mum "
        "here who'd like mediation about her little girl's plan the best number for me is oh two oh seven "
        "nine four six oh nine nine one",
        _want("mediation", "Newham", "london", "professional", "+442079460991", None, None),
    ),
    (
        "hi um we live in bradford and my son's school won't give him his one to one can you help us "
        "please call oh one one three four nine six oh five oh five",
        _want("disagreement_resolution", "NOT_SERVED", None, "parent", "+441134960505", None, None),
    ),
    (
        "hello i'm calling about my grandson archie i'm his nan we're in derby shire the plan's been finalised "
        "but it doesn't say what he needs in section f we want mediation my number is oh seven seven oh oh "
        "nine oh oh... no sorry oh seven seven oh oh nine oh oh three eight eight",
        _want("mediation", "Derbyshire", "national", "parent", "+447700900388", "Archie", None),
    ),
    (
        "hi i'm eighteen i was born on may the fifth two thousand and eight my name is tyrese i live in "
        "lewis ham and i want mediation because the council want to end my plan call me on oh seven seven "
        "double zero nine double zero seven five seven",
        _want("mediation", "Lewisham", "london", "young_person", "+447700900757", "Tyrese", "2008-05-05"),
    ),
    (
        "hello um it's about my twins ruby and rosa they're in year three we're in cheshire east we've had a "
        "falling out with the school over their support and we'd like some help to sort it out with the school "
        "please ring me on oh one six one four nine six oh two seven two",
        _want("disagreement_resolution", "Cheshire East", "national", "parent", "+441614960272", "Ruby", None),
    ),
    (
        "good morning i'm the head teacher at hill view infant school in rutland i'd like an independent "
        "person to chair a meeting with a family and the local authority about a child's transition my "
        "number is oh one six three two nine six oh five eight one",
        _want("facilitation", "Rutland", "national", "professional", "+441632960581", None, None),
    ),
    (
        "hi there my name is mohammed my son is bilal he was born twelve oh five twenty sixteen we live in "
        "sheffield and we want to go to mediation because they've refused an e h c plan please call oh seven "
        "seven double oh nine double oh eight two three",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900823", "Bilal", "2016-05-12"),
    ),
    (
        "hi i'm calling from cardiff my daughter has additional learning needs and i was wondering if you "
        "can do mediation for us my number is oh two nine two oh one eight oh four three two",
        _want(None, "NOT_SERVED", None, "parent", "+442920180432", None, None),
    ),
    (
        "hello this is the message for the national office um my name is linda i'm ringing for my son "
        "connor he's fifteen we live in stafford shire and we've got a decision letter saying they won't "
        "issue a plan so we want to appeal we need the certificate please phone oh seven seven double oh "
        "nine double oh two nine eight",
        _want("certificate", "Staffordshire", "national", "parent", "+447700900298", "Connor", None),
    ),
    (
        "hi it's jess i'm a foster carer in lincoln shire for a girl called mia she's seven her date of "
        "birth is the twenty eighth of september twenty nineteen and we'd like mediation about her plan "
        "please call plus four four seven seven double oh nine double oh four six one",
        _want("mediation", "Lincolnshire", "national", "parent", "+447700900461", "Mia", "2019-09-28"),
    ),
    (
        "Hi, Kensington and Chelsea council won't amend my son's plan (Noah, 11). We want mediation. Call "
        "Sam on 07700900535",
        _want("mediation", "Kensington and Chelsea", "london", "parent", "+447700900535", "Noah", None),
    ),
    (
        "mediation request for my daughter evie jones dob 03-05-2014 we are in worcester shire tel 07700 900 647",
        _want("mediation", "Worcestershire", "national", "parent", "+447700900647", "Evie Jones", "2014-05-03"),
    ),
    (
        "hello i'm calling on behalf of the send team at richmond upon thames we've got a parent who'd like "
        "mediation about section i the team's general number is oh two oh seven nine four six oh oh oh oh "
        "but my direct line is oh two oh seven nine four six oh three seven one",
        _want("mediation", "Richmond-upon-Thames", "london", "professional", "+442079460371", None, None),
    ),
    (
        "hi um i'm i'm ringing about my son he's got autism and we live in surrey and the council have "
        "refused to assess we want mediation my number is oh seven seven double oh nine double oh one "
        "three seven",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900137", None, None),
    ),
    (
        "hello my daughter lola's plan names a school that can't meet her needs we're in bed ford and we'd "
        "like mediation about section i her date of birth is nine eleven two thousand and thirteen my "
        "number is oh seven seven double oh nine double oh nine six two",
        _want("mediation", "Bedford", "national", "parent", "+447700900962", "Lola", "2013-11-09"),
    ),
    (
        "hi this is mark um i'm an advocate from sendiass in walsall i'm supporting a family whose son "
        "ethan jones was refused an assessment they want mediation my mobile is oh seven seven double oh "
        "nine double oh five eight five",
        _want("mediation", "Walsall", "national", "professional", "+447700900585", "Ethan Jones", None),
    ),
    (
        "hello i'm calling about the mediation for my son jake we're in barnsley i think we need the "
        "tribunal thing the certificate because we're appealing call me back on oh one one four four nine "
        "six oh eight eight two",
        _want("certificate", "Barnsley", "national", "parent", "+441144960882", "Jake", None),
    ),
    (
        "hi i'm the senco at st john's primary in sol i hull one of our parents would like disagreement "
        "resolution with us about her son's support could you ring me on oh one two one four nine six oh "
        "seven three seven",
        _want("disagreement_resolution", "Solihull", "national", "professional", "+441214960737", None, None),
    ),
]

# A third batch, written after the changes for the second and run once before any further change.
HELD_OUT_3: list[tuple[str, dict[str, str | None]]] = [
    (
        "hi im ringing about my son oscar hes 9 were in notts county council refused the assessment we want "
        "mediation ring me on 0 7 7 0 0 9 0 0 2 6 3 ta",
        _want("mediation", "Nottinghamshire", "national", "parent", "+447700900263", "Oscar", None),
    ),
    (
        "hello er yeah it's about my daughter imani she was born the twenty third of the fourth two thousand "
        "and ten we live in north lincolnshire and the council won't name the school we want we'd like "
        "mediation please my number is oh seven seven double oh nine double oh seven four one",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900741", "Imani", "2010-04-23"),
    ),
    (
        "hi i'm seventeen and i'm calling for myself my name's kayden i live in north northants and the council "
        "want to stop my e h c p when i start college i want mediation my number's oh seven seven double oh "
        "nine double oh three one nine",
        _want("mediation", "Northamptonshire", "national", "young_person", "+447700900319", "Kayden", None),
    ),
    (
        "hello i'm a solicitor ringing on behalf of a client whose daughter attends a special school in "
        "harringay we need a mediation certificate urgently so that we can lodge an appeal please call me "
        "on oh two oh seven nine four six oh two six one",
        _want("certificate", "Haringey", "london", "professional", "+442079460261", None, None),
    ),
    (
        "Hi, I'm Dev, dad of Anaya (d.o.b. 7/3/13). Waltham Forest won't reassess her. Mediation please. 07700 900 354",
        _want("mediation", "Waltham Forest", "london", "parent", "+447700900354", "Anaya", "2013-03-07"),
    ),
    (
        "hi um this is a message for someone about mediation um my son's called billy and we're in liverpool "
        "they've said no to his plan could you call me on oh one five one four nine six oh one one eight",
        _want("mediation", "NOT_SERVED", None, "parent", "+441514960118", "Billy", None),
    ),
    (
        "hello my name is pauline i'm calling about my grandson noah noah hughes i've got a special "
        "guardianship order for him we're in the city of york and the school just aren't following his plan "
        "we'd like to sort it out with the school my number is oh one nine oh four nine six oh three two "
        "three",
        _want("disagreement_resolution", "York", "national", "parent", "+441904960323", "Noah Hughes", None),
    ),
    (
        "hi there we need someone independent to run a meeting between us the school and the council about "
        "our son jude's plan we live in hillingdon call me on oh seven seven double oh nine double oh six "
        "eight six",
        _want("facilitation", "Hillingdon", "london", "parent", "+447700900686", "Jude", None),
    ),
    (
        "good afternoon it's rebecca from the send team in havering i'm ringing to refer a family for "
        "mediation regarding section f my number is oh two oh seven nine four six oh seven two seven",
        _want("mediation", "Havering", "london", "professional", "+442079460727", None, None),
    ),
    (
        "hi um my daughter's called esme she's 14 we're in essex and we need the mediation certificate to "
        "appeal could you ring me on plus four four seven seven oh oh nine oh oh five nine two",
        _want("certificate", "NOT_SERVED", None, "parent", "+447700900592", "Esme", None),
    ),
    (
        "hello it's about my son theo his birthday is the 2nd of jan 2015 we're in sutton and we want "
        "mediation about his placement please call oh seven seven double oh nine double oh eight seven "
        "oh",
        _want("mediation", "Sutton", "london", "parent", "+447700900870", "Theo", "2015-01-02"),
    ),
    (
        "hi i'm nineteen i've got an ehcp and i'm at college in rotherham i was wondering if i can ask for "
        "mediation myself or does my mum have to do it my number is oh seven seven double oh nine double oh "
        "one oh one",
        _want(None, "NOT_SERVED", None, "young_person", "+447700900101", None, None),
    ),
    (
        "hello this is carol i'm a kinship carer for my niece lacey we live in stock port um her date of "
        "birth is the eleventh of november twenty eleven and we want mediation because the plan doesn't have "
        "enough in section f call me on oh one six one four nine six oh eight four four",
        _want("mediation", "Stockport", "national", "parent", "+441614960844", "Lacey", "2011-11-11"),
    ),
    (
        "hi it's about my son kyle we're in the borough of barking and dagenham no sorry we moved we're in "
        "redbridge now they've refused to assess him we'd like mediation call oh seven seven double oh nine "
        "double oh four two six",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900426", "Kyle", None),
    ),
    (
        "hello um i'm a paediatrician at coventry hospital ringing about a patient of mine his mum would "
        "like mediation about the health part of his plan the family live in warwickshire my secretary's "
        "number is oh two four seven six nine four six oh oh oh oh but my mobile is oh seven seven double oh "
        "nine double oh three three eight",
        _want("mediation", "Warwickshire", "national", "professional", "+447700900338", None, None),
    ),
    (
        "hi my daughter maya was born 2015 on june 1st we live in luton and we're having problems with her "
        "school not putting in place what's in her plan can we have disagreement resolution please call "
        "oh seven seven double oh nine double oh one eight one",
        _want("disagreement_resolution", "Luton", "national", "parent", "+447700900181", "Maya", "2015-06-01"),
    ),
]

# A fourth batch, written after the changes for the third and run once before any further change.
HELD_OUT_4: list[tuple[str, dict[str, str | None]]] = [
    (
        "hi this is emma mum of jack um jack was born in march twenty fifteen and we live in sutton coldfield "
        "the council won't assess him we want mediation you can call me back on this number thanks",
        _want("mediation", None, None, "parent", None, "Jack", None),
    ),
    (
        "hello could you send me some information about mediation please we're in enfield my son's got "
        "an e h c p my number is oh seven seven double oh nine double oh three oh three",
        _want(None, "Enfield", "london", "parent", "+447700900303", None, None),
    ),
    (
        "hi i'm an educational psychologist with brent council i'm calling for a family who'd like "
        "mediation about the needs in section b their child is called ayaan my work mobile is oh seven "
        "seven double oh nine double oh seven eight seven",
        _want("mediation", "Brent", "london", "professional", "+447700900787", "Ayaan", None),
    ),
    (
        "hiya um i've got two boys sam and alex and sam's the one with the e h c p we're in hartle pool "
        "and we've had the final plan and we want to appeal it so we need the certificate ring me on oh "
        "seven seven double oh nine double oh four seven seven",
        _want("certificate", "Hartlepool", "national", "parent", "+447700900477", "Sam", None),
    ),
    (
        "hello this is a voicemail for the london office my daughter chloe chloe adams she's sixteen "
        "her date of birth is oh two oh six two thousand and ten we're in hammersmith and fulham we want "
        "mediation because they won't name her college my number is oh two oh seven nine four six oh "
        "one nine one",
        _want("mediation", "Hammersmith and Fulham", "london", "parent", "+442079460191", "Chloe Adams", "2010-06-02"),
    ),
    (
        "Hi its Becky, my son Louie (8) has an EHCP, we're in Barnet. The school keep ignoring his 1:1 hours, "
        "can we get disagreement resolution? 07700 900 515",
        _want("disagreement_resolution", "Barnet", "london", "parent", "+447700900515", "Louie", None),
    ),
    (
        "good morning i'm a health visitor in peterborough i've got a family with a little one in nursery "
        "whose application for an assessment was refused mum would like mediation but she doesn't speak "
        "much english so please call me on oh one seven three three four nine six oh oh five two",
        _want("mediation", "Peterborough", "national", "professional", None, None, None),
    ),
    (
        "hello um my son william um was born on the thirty first of december two thousand and nine "
        "he's at college in wands worth and we want mediation because they're ceasing his plan please call "
        "oh seven seven double oh nine double oh two oh two",
        _want("mediation", "Wandsworth", "london", "parent", "+447700900202", "William", "2009-12-31"),
    ),
    (
        "hi it's about my foster daughter skye we live in the vale of glamorgan and we're not happy with "
        "her plan we'd like mediation my number is oh seven seven double oh nine double oh six five six",
        _want("mediation", "NOT_SERVED", None, "parent", "+447700900656", "Skye", None),
    ),
    (
        "yeah hi i need mediation for my son reggie the council in darby have refused to assess him "
        "ring me on oh seven seven double oh nine double oh nine nine one",
        _want("mediation", "Derby", "national", "parent", "+447700900991", "Reggie", None),
    ),
    (
        "hello i'm twenty two and i've got an e h c plan i live in westminster the council want to cease "
        "my plan because i'm not in education and i want to go to mediation please call me on zero seven "
        "seven zero zero nine zero zero eight zero eight",
        _want("mediation", "Westminster", "london", "young_person", "+447700900808", None, None),
    ),
    (
        "hi my daughter's name is hana h a n a she was born on 14 08 2017 we live in central beds and the "
        "council said they won't issue a plan we'd like mediation call oh seven seven double oh nine "
        "double oh five one two",
        _want("mediation", "Central Bedfordshire", "national", "parent", "+447700900512", "Hana", "2017-08-14"),
    ),
    (
        "hello my name is grace okonkwo i'm ringing about my son daniel we're in southwark and the school "
        "won't provide the speech therapy in his plan we'd like disagreement resolution please my number "
        "is plus four four two oh seven nine four six oh four oh four",
        _want("disagreement_resolution", "Southwark", "london", "parent", "+442079460404", "Daniel", None),
    ),
    (
        "hi um i'm calling about my granddaughter she's five we're in hull the council won't do the "
        "assessment we want the mediation certificate so we can appeal my number's oh seven seven double "
        "oh nine double oh three two three",
        _want("certificate", "NOT_SERVED", None, "parent", "+447700900323", None, None),
    ),
]
