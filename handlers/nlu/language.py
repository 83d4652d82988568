"""Which language a message is written in: "en", "id" (Indonesian or a regional flavour) or None.

A worker who writes English is answered in English and kept in it until they write Indonesian
(`follow`). Only clear evidence counts, because many messages are neither: "ok", "bpjs", "jkk",
a number, a name ("Budi Santoso"), a NIK, a kecamatan ("taktakan") say nothing about the language
and keep the current one. English evidence is English function and common words; Indonesian
evidence is Indonesian function words, the lexicon (content/lexicon/: slang and Sundanese,
Javanese, Betawi, Serang words, all mapped to Indonesian) and regional suffixes on known words.
Words both languages use ("data", "online", "admin", "bpjs", "iuran", "ojol", "kak") count for
neither: "how much is the iuran kak" is English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from handlers.nlu.resources import LEXICON_DIR, ContentError, load_lexicon, read_yaml

EN = "en"
ID = "id"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# English words a worker writes, mostly function words and everyday verbs. A word Indonesians also
# write in Indonesian ("data", "online", "stop") is in NEUTRAL too, which wins: "tolong delete data sy"
# stays Indonesian.
ENGLISH_WORDS = _words(
    """
    a about after again all also am an and another any anybody anyone anything are aren't as at
    be because been before being both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't done each either else enough even ever every everything for from get
    gets getting give given go goes going gone got had has hasn't have haven't having he her
    here hers him his how however i i'd i'll i'm i've if in into is isn't it it's its just let
    let's like may me might mine more most much must my myself need needs neither never no nor
    not nothing now of off often on once one only or other our ours out over own please pls plz
    same shall she should shouldn't since so some someone something still such than that that's
    the their theirs them then there there's these they they're this those though through to too
    under until up upon us very was wasn't we we're were weren't what what's whatever when where
    where's whether which while who who's whom whose why will with within without won't would
    wouldn't yes yet you you'd you're your yours yourself u ur im dont cant wont doesnt whats
    able accident afford age allowed already always answer any anymore apply ask asked asking
    available away back become becomes bill bills born borrow bring broke broken buy call called
    calling cash change check child children choose claim claims close come comes contact cost
    costs cover covered covers cut day days dead death deadline deduct delete deleted die died
    dies disabled document documents doesn't due earn earning earns easy email enroll erase
    every expensive explain family fee fees file fill find fine first forget forgot free friend
    full funeral give happen happens happened heirs hello help helps home hospital hour hours
    husband income information injured injury insurance interested join joined joining keep kids
    know last late leave less life little live long look lose lost make many member members
    membership money month monthly months mother name near nearest new next number office
    officer old open paid pass passed pay paying payment payments pension per person phone price
    program protection put questions quit reach real receive register registered registration
    remind reminder remove retire retirement right run salary same save saving savings say see
    sell send sick sign small son speak staff start stay still stop take talk tell thank thanks
    think time today tomorrow treatment try understand use used want wants week went wife
    withdraw work worker workers working worth write year years yesterday actually address adult
    advice afternoon agent agree allow almost alone along although among amount answer anyone
    apartment appear apply area arm around arrive article asleep aunt baby bad bag balance bike
    birth black blue boat body book boss bottom box boy brother build building business busy buy
    calculate calculation car card care careful carry case cause certain chance cheap cheaper
    cheapest child city clean clear clock cold college company compensation complete condition
    confirm connect continue cook correct country couple course cousin crash cry daughter dear
    decide decision deliver delivery department deposit detail details difference different
    difficult dinner disability disease doctor dog door down drive driving during early east eat
    education elderly employee employer employment end english enter evening event exactly
    example except explain eye face factory fall far farm farmer farming farmers fast father
    feel female field fight finally finger finish fire fish fisherman fishermen fishing floor
    follow food foot foreign friday future garden girl glad good great green ground group guess
    guy hand happy hard hate head health hear heart heavy high hold holiday hope hot house hurt
    idea illness important include indonesian injure inside instead job kid kind kitchen land
    language large later laugh law learn leg letter lie light line listen local lock lunch main
    male man market marry matter mean medical medicine meet meeting message middle million
    minimum minute mistake monday morning motorbike motorcycle move music news nice night none
    normal north note notice nurse older order others outside page pain paper parent parents
    part party past pensioner people perhaps period pick picture place plan play point police
    poor possible pretty problem process proof provide public pull question quick quickly quite
    rain rather read ready reason receipt red refund regular reject rejected remember rent
    repair reply request required requirement requirements rest result return rice rich road
    room rule safe saturday school second seem seller sent set several shop short show side
    simple sister sit size sleep slow sometimes soon south spend spouse stand step store story
    street student study stuff subscribe sunday support sure survive system table teacher thing
    things thursday together total toward town trade trader traders travel tuesday turn type
    uncle unemployed upload using usually vendor village visit wait wake walk wall wallet watch
    water way wednesday welcome well west whole widow wish woman women wonder word worry wrong
    young don doesn didn isn aren wasn weren won couldn wouldn shouldn haven hasn
    """
)

# Strong English: a single one of these with another English word is enough. They are never
# Indonesian or regional words ("can" is Sundanese "belum", "no" may be "nomor", "sing" Javanese).
_FUNCTION = _words(
    """
    i i'm i'd i'll i've me my myself you your you're u ur we our they their he she his her it
    it's its the a an is are am was were be been do does did don't doesn't didn't dont doesnt
    have has had what what's whats how why when where which who whose will would could should
    shall might must if of for with from about to at on in into by and or but not this that
    these those there here want need get please pls plz thank thanks any some much many can
    """
)

# Words both languages use, and names of programmes, places, apps and brands: no evidence either way.
NEUTRAL = _words(
    """
    ok oke okay okey okee sip yes ya iya yo hi halo hallo helo hello hai hey bye bpjs bpjstk
    bpjamsostek jamsostek tk ketenagakerjaan naker bpu pu jkk jkm jht jp jkp kpj nik ktp kk npwp
    jmo bpjsku iuran santunan ojol ojek gojek grab maxim shopee shopeefood gofood indomaret
    alfamart alfamidi pospay gopay ovo dana linkaja brimo bri bni bca bjb bsi mandiri brilink
    perisai serang cilegon pandeglang lebak banten kota kabupaten kab kecamatan kec kelurahan
    desa rt rw jakarta tangerang kak ka kakak min admin pak bu bang mas mbak mba teh aa kang gan
    sis bos bro om tante neng data online offline program programs bank transfer cash info
    update status app aplikasi chat customer service cs form sorry sori indonesia indonesian
    link email wa whatsapp
    telegram driver promo bonus stop delete cancel menu start help rp jt juta ribu rb k
    """
)

# Indonesian function and everyday words, beyond what the lexicon lists.
_INDONESIAN = _words(
    """
    saya aku kamu anda dia kami kita mereka ini itu yang dan atau di ke dari untuk buat bagi
    dengan sama pada oleh tentang kalau kalo jika apa apakah siapa mana dimana kemana kapan
    berapa bagaimana gimana kenapa mengapa bisa boleh mau ingin pengen tidak nggak gak ga enggak
    bukan belum sudah udah sdh telah akan sedang lagi juga saja aja cuma hanya ada tanya nanya
    bertanya minta tolong mohon terima kasih makasih trims selamat pagi siang sore malam daftar
    mendaftar pendaftaran bayar membayar pembayaran dibayar berapa biaya gaji penghasilan
    pendapatan bulan tahun hari minggu kerja bekerja pekerja kecelakaan meninggal mati sakit
    keluarga istri suami anak orang tua ahli waris manfaat jaminan hari tua klaim mencairkan
    cair kantor alamat nomor telepon telpon hubungi petugas ngomong bicara berhenti jangan kirim
    hapus simpan dihapus pesan pedagang petani nelayan buruh tukang sopir supir peserta kartu
    cara caranya bagaimana kok sih dong deh nih tuh kan lho loh yah nya punya masih harus perlu
    lewat tempat sekarang nanti besok kemarin tiap setiap per sebulan setahun sekali lalu terus
    banyak sedikit murah mahal gratis uang dapat dapet kena ikut jadi menjadi aman benar betul
    salah
    """
)

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ID_SUFFIXES = ("nya", "kan", "lah", "kah", "ipun", "na", "ne", "e", "ku", "mu", "in", "keun")
_MIN_STEM = 3

# How much evidence a switch needs: clear English is at least two English words, one of them a
# function word, and no more than one Indonesian word against three English ones; clear Indonesian
# is twice as many Indonesian words as English ones, and three of them or an Indonesian function word.
_EN_MIN = 2
_ID_MANY = 3


def tokens(text: str) -> list[str]:
    return [t.replace("\u2019", "'") for t in _TOKEN.findall(text.casefold().replace("\u2019", "'"))]


@lru_cache(maxsize=1)
def indonesian_words() -> frozenset[str]:
    """Indonesian and regional words: the core list, the lexicon's keys and its replacements,
    less every English word and every neutral one."""
    lexicon = load_lexicon()
    words = set(_INDONESIAN)
    for key, value in lexicon.words.items():
        words.update(key.split())
        words.update(value.split())
    return frozenset(w for w in words if w.isalpha() and w not in ENGLISH_WORDS and w not in NEUTRAL)


def _is_indonesian(word: str, known: frozenset[str]) -> bool:
    if word in known:
        return True
    for suffix in _ID_SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= _MIN_STEM and (stem in known or stem in NEUTRAL):
            return stem not in ENGLISH_WORDS
    return False


def evidence(words: Iterable[str]) -> tuple[int, int, int]:
    """(English words, of which function words, Indonesian words) among `words`."""
    known = indonesian_words()
    english = function = indonesian = 0
    for word in words:
        if word in NEUTRAL:
            continue
        if _english(word):
            english += 1
            function += word in _FUNCTION
        elif _is_indonesian(word, known):
            indonesian += 1
    return english, function, indonesian


def is_english(words: Iterable[str]) -> bool:
    """Clearly English: the normaliser then leaves English words alone instead of reading them as
    the regional or slang words they resemble ("can" is Sundanese "belum", "take" is not "tak")."""
    return _clearly_english(*evidence(words))


def _clearly_english(english: int, function: int, indonesian: int) -> bool:
    return english >= _EN_MIN and function >= 1 and english >= 3 * indonesian


def is_english_word(word: str) -> bool:
    return _english(word) or word in _ENGLISH_LOANWORDS


def _english(word: str) -> bool:
    """An English word of the lists, or one of them with an English ending ("students", "paying")."""
    if word in ENGLISH_WORDS or word in _FUNCTION:
        return True
    for ending in _ENGLISH_ENDINGS:
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= _MIN_STEM and (stem in ENGLISH_WORDS or stem + "e" in ENGLISH_WORDS):
            return True
    return False


_ENGLISH_ENDINGS = ("s", "es", "ed", "d", "ing", "ly", "er", "ers")


# English words the lexicon reads as slang or regional words: in an English message they stay English.
FALSE_FRIENDS = frozenset({"can", "make", "no", "sing", "take"})

# Words of both languages that the lexicon or the typo corrector would turn into another word in an
# English message ("app" -> "apa", "care" -> "pcare", "min" -> "admin" stays: it is a greeting).
_ENGLISH_LOANWORDS = frozenset({"app", "data", "online", "cash", "transfer", "bank", "stop", "delete", "form"})


def detect(text: str) -> str | None:
    """ "en" or "id" when the message clearly is in that language, else None (keep the current one)."""
    english, function, indonesian = evidence(tokens(text or ""))
    if _clearly_english(english, function, indonesian):
        return EN
    if indonesian >= 2 * english and (
        indonesian >= _ID_MANY or (indonesian >= 1 and _has_indonesian_function_word(text))
    ):
        return ID
    return None


# Indonesian question, request and function words. Words that merely look Indonesian may be a
# name, a place or a job typed at a form question ("Putri Ayu", "ibu rumah tangga"): fewer than
# _ID_MANY of them switch only with one of these ("berapa?", "makasih", "saya ibu rumah tangga").
_INDONESIAN_FUNCTION = _words(
    """
    berapa brp bagaimana gimana gmn kumaha piye pripun kepiye priben gimane bagaimanakah apa
    apakah kapan dimana mana kenapa mengapa siapa bisakah bolehkah tolong mohon makasih
    terimakasih terima saya sy aku mau pengen ingin tidak nggak gak enggak ga belum sudah udah bisa
    boleh ada di ke dari yang yg dan atau ini itu kalau kalo jika untuk buat dengan sama juga
    kok sih dong deh nih tuh kan gitu kayak lagi aja saja cuma harus perlu apakah gimanakah
    """
)


@lru_cache(maxsize=1)
def _lexicon_words() -> dict[str, str]:
    return load_lexicon().words


def _has_indonesian_function_word(text: str) -> bool:
    words = _lexicon_words()
    return any(w in _INDONESIAN_FUNCTION or words.get(w) in _INDONESIAN_FUNCTION for w in tokens(text))


def follow(current: str | None, text: str) -> str:
    """The language to answer in after `text`: the message's own when clear, else `current`.
    An Indonesian control word is a command, not a sign of the language: the English answers name
    *hapus data saya* and *ingatkan saya* beside the English words, and typing them keeps English."""
    kept = current if current in (EN, ID) else ID
    said = detect(text)
    if said == ID and " ".join(tokens(text or "")) in _control_phrases():
        return kept
    return said or kept


@lru_cache(maxsize=1)
def _control_phrases() -> frozenset[str]:
    """The control words of content/lexicon/acts.yaml (`controls:`), when that file is there."""
    path = LEXICON_DIR / "acts.yaml"
    try:
        controls = (read_yaml(path) or {}).get("controls") or {}
    except (OSError, ContentError, AttributeError):
        return frozenset()
    phrases = (p for values in controls.values() if isinstance(values, list) for p in values if isinstance(p, str))
    return frozenset(" ".join(tokens(p)) for p in phrases)
