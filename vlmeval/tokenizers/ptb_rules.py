"""The lexical rules of Stanford CoreNLP 3.4.1's PTB tokenizer, restated for Python's ``regex`` module.

CoreNLP's tokenizer is a JFlex scanner: at each position every rule is tried, the longest match wins
(trailing context counts towards the length), ties go to the rule listed first, and the winning rule's
action decides the token text. This module states those rules as ``regex`` patterns matched in POSIX
(leftmost-longest) mode, with the options pycocoevalcap's command line implies (``-preserveLines``:
default PTB3 escaping, traditional Treebank-3 state, split assimilations, delete untokenizable characters).

Differences of notation handled here: JFlex's ``%caseless`` makes every literal letter outside a character
class match both cases (``ci()``), while character classes stay exact; ``[:letter:]``/``[:digit:]`` are
Java's ``Character.isLetter``/``isDigit``, stated as ``\\p{L}``/``\\p{Nd}`` (equal for every character
whose Unicode category has been stable since Unicode 3.2; ``ptb.py`` sends other characters to the jar).
"""

from __future__ import annotations

from dataclasses import dataclass


def ci(text: str) -> str:
    """A literal matched case-insensitively, as JFlex's %caseless matches literals (classes stay exact).

    ``(?i:...)`` folds cases like JFlex for ASCII letters; it also folds U+017F (long s) and U+212A (Kelvin
    sign) onto s and k, which JFlex does not, so ``ptb.py`` sends captions with those two to the jar.
    """
    escaped = "".join("\\" + ch if ch in r".^$*+?{}[]\|()/-" else ch for ch in text)
    return f"(?i:{escaped})" if any(ch.isalpha() for ch in text) else escaped


def alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


def words(*literals: str) -> str:
    return alt(*(ci(w) for w in literals))


# --- character classes and macros (names as in PTBLexer.flex) -------------------------------------------
# A quoted attribute value ('[^']*' or "[^"]*") may hold line ends: markup can run from one caption into
# later ones, as one token (ptb.py, markup_spans).
SGML = (
    r"<(?:[!?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:.\-]*(?:[ ]+(?:[A-Za-z][A-Za-z0-9_:.\-]*"
    r"|[A-Za-z][A-Za-z0-9_:.\-]*[ ]*=[ ]*(?:'[^']*'|\"[^\"]*\")))*[ ]*/?|/[A-Za-z][A-Za-z0-9_:.\-]*)[ ]*>"
)
SPMDASH = alt("&" + words("MD", "mdash", "ndash") + ";", "[\u0096\u0097\u2013\u2014\u2015]")
SPAMP = "&" + ci("amp") + ";"
SPPUNC = "&" + alt(words("HT", "TL", "UR", "LR", "QC", "QL", "QR", "odq", "cdq"), "#[0-9]+") + ";"
SPLET = "&[aeiouAEIOU]" + words("acute", "grave", "uml") + ";"
SPACE_CHARS = " \t\u00a0\u2000-\u200a\u3000"
SPACE = f"[{SPACE_CHARS}]"
SPACES = SPACE + "+"
NEWLINE = alt("\r", "\r?\n", "\u2028", "\u2029", "\u000b", "\u000c", "\u0085")
SPACENL = alt(SPACE, NEWLINE)
SPACENLS = SPACENL + "+"
UPPERCASE = r"\p{Lu}"
SENTEND = SPACENL + alt(SPACENL, UPPERCASE, SGML)
DIGIT_CLASS = r"\p{Nd}\u07c0-\u07c9"
DIGIT = f"[{DIGIT_CLASS}]"
DATE = f"{DIGIT}{{1,2}}[\\-/]{DIGIT}{{1,2}}[\\-/]{DIGIT}{{2,4}}"
NUM = alt(f"{DIGIT}+", f"{DIGIT}*(?:[.:,\u00ad\u066b\u066c]{DIGIT}+)+")
NUMBER = r"[\-+]?" + NUM
SUBSUPNUM = "[\u207a\u207b\u208a\u208b]?" + alt(
    "[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+", "[\u2080-\u2089]+"
)
FRAC = f"(?:{DIGIT}{{1,4}}[- \u00a0])?{DIGIT}{{1,4}}(?:\\\\?/|\u2044){DIGIT}{{1,4}}"
FRAC2 = "[\u00bc\u00bd\u00be\u2153-\u215e]"
DOLSIGN = r"(?:[A-Z]*\$|#)"
DOLSIGN2 = "[\u00a2\u00a3\u00a4\u00a5\u0080\u20a0\u20ac\u060b\u0e3f\u20a4\uffe0\uffe1\uffe5\uffe6]"
LETTER_EXTRA = (
    "\u00ad\u0237-\u024f\u02c2-\u02c5\u02d2-\u02df\u02e5-\u02ff\u0300-\u036f\u0370-\u037d\u0384\u0385"
    "\u03cf\u03f6\u03fc-\u03ff\u0483-\u0487\u04cf\u04f6-\u04ff\u0510-\u0525\u055a-\u055f\u0591-\u05bd"
    "\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0615-\u061a\u063b-\u063f\u064b-\u065e\u0670\u06d6-\u06ef"
    "\u06fa-\u06ff\u070f\u0711\u0730-\u074f\u0750-\u077f\u07a6-\u07b1\u07ca-\u07f5\u07fa\u0900-\u0903"
    "\u093c\u093e-\u094e\u0951-\u0955\u0962-\u0963\u0981-\u0983\u09bc-\u09c4\u09c7\u09c8\u09cb-\u09cd"
    "\u09d7\u09e2\u09e3\u0a01-\u0a03\u0a3c\u0a3e-\u0a4f\u0a81-\u0a83\u0abc-\u0acf\u0b82\u0bbe-\u0bc2"
    "\u0bc6-\u0bc8\u0bca-\u0bcd\u0c01-\u0c03\u0c3e-\u0c56\u0d3e-\u0d44\u0d46-\u0d48\u0e30-\u0e3a"
    "\u0e47-\u0e4e\u0eb1-\u0ebc\u0ec8-\u0ecd"
)
LETTER = alt(f"[\\p{{L}}{LETTER_EXTRA}]", SPLET)
JLETTER = r"\p{L}"  # [:letter:] alone
JLETTER_OR_DIGIT = r"[\p{L}\p{Nd}]"  # [:letter:]|[:digit:]
LETTER_OR_DIGIT = alt(f"[\\p{{L}}{LETTER_EXTRA}{DIGIT_CLASS}]", SPLET)
WORD = f"{LETTER}{LETTER_OR_DIGIT}*(?:[.!?]{LETTER}{LETTER_OR_DIGIT}*)*"
FILENAME_EXT = words(
    *"bat bmp c class cgi cpp dll doc docx exe gif gz h htm html jar java jpeg jpg mov mp3 pdf php pl png "
    "ppt ps py sql tar txt wav x xml zip".split()
)
FILENAME = f"{LETTER_OR_DIGIT}+(?:[.]{LETTER_OR_DIGIT}+)*(?:[.]{FILENAME_EXT})"
APOS = alt("['\u0092\u2019]", "&" + ci("apos") + ";")
APOSETCETERA = alt(APOS, "[`\u0091\u2018\u201b]")
HYPHEN = "[-_\u058a\u2010\u2011]"
_THING_PART = f"(?:[dDoOlL]{APOSETCETERA}{JLETTER_OR_DIGIT})?{JLETTER_OR_DIGIT}+"
THING = f"{_THING_PART}(?:{HYPHEN}{_THING_PART})*"
THINGA = f"[A-Z]+(?:(?:[+&]|{SPAMP})[A-Z]+)+"
THING3 = r"[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}"
ACRO_SPECIAL = alt(
    alt(*(ci(w) for w in ("Canada", "Sino", "Korean", "EU", "Japan", "non"))) + ci("-U.S"),
    ci("U.S.-") + alt(ci("U.K"), ci("U.S.S.R")),
)
ACRO = alt(r"[A-Za-z](?:\.[A-Za-z])*", ACRO_SPECIAL)
ACRO2 = alt(r"[A-Za-z](?:\.[A-Za-z])+", ACRO_SPECIAL)
HTHING = f"[A-Za-z0-9][A-Za-z0-9.,\u00ad]*(?:-(?:[A-Za-z0-9\u00ad]+|{ACRO2}\\.))+"
REDAUX = APOS + alt("[msdMSD]", ci("re"), ci("ve"), ci("ll"))
SWORD = "[A-Za-z\u00ad]*[A-MO-Za-mo-z]\u00ad*"
SREDAUX = ci("n") + APOSETCETERA + ci("t")
APOWORD = alt(
    APOS + ci("n") + APOS + "?",
    "[lLdDjJ]" + APOS,
    ci("Dunkin") + APOS,
    ci("somethin") + APOS,
    ci("ol") + APOS,
    APOS + ci("em"),
    f"[A-HJ-XZn]{APOSETCETERA}{JLETTER}{{2}}{JLETTER}*",
    APOS + "[2-9]0" + ci("s"),
    APOS + ci("til") + ci("l") + "?",
    f"{JLETTER}{JLETTER}*[aeiouyAEIOUY]{APOSETCETERA}[aeiouA-Z]{JLETTER}*",
    APOS + ci("cause"),
    ci("cont'd") + r"\.?",
    ci("'twas"),
    ci("nor'easter"),
    ci("c'mon"),
    ci("e'er"),
    ci("s'mores"),
    ci("ev'ry"),
    ci("li'l"),
    ci("nat'l"),
    ci("O") + APOSETCETERA + ci("o"),
)
APOWORD2 = ci("y") + APOS
FULLURL = ci("http") + ci("s") + "?" + r"://[^ \t\n\f\r\"<>|(){}]+[^ \t\n\f\r\"<>|.!?(){},-]"
LIKELYURL = (
    alt(
        ci("www.") + r"(?:[^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4}",
        r"(?:[^ \t\n\f\r\"`'<>|.!?(){},-_$]+\.)+" + words("com", "net", "org", "edu"),
    )
    + r"(?:/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|.!?(){},-])?"
)
EMAIL = (
    alt("&" + ci("lt") + ";", "<")
    + "?"
    + r"[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00a0{}]*@(?:[^ \t\n\f\r\"<>|(){}.\u00a0]+\.)*(?:[^ \t\n\f\r\"<>|(){}.\u00a0]+)"
    + alt("&" + ci("gt") + ";", ">")
    + "?"
)
TWITTER = alt(r"@[a-zA-Z_][a-zA-Z_0-9]*", f"#{LETTER}+")

ABMONTH = words("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec")
ABDAYS = words("Mon", "Tue", "Tues", "Wed", "Thu", "Thurs", "Fri")
ABSTATE = alt(
    words("Ala", "Ariz"),
    "A" + ci("z"),
    "A" + ci("rk"),
    words("Calif", "Colo", "Conn", "Ct", "Dak"),
    "D" + ci("el"),
    words("Fla", "Ga"),
    "I" + ci("ll"),
    words("Ind"),
    ci("Kan") + ci("s") + "?",
    words("Ky"),
    "L" + ci("a"),
    "M" + ci("ass"),
    words("Md", "Mich", "Minn"),
    "M" + ci("iss"),
    words("Mo", "Mont", "Neb", "Nev", "Okla"),
    "O" + ci("re"),
    "P" + ci("a"),
    words("Penn", "Tenn"),
    "T" + ci("ex"),
    words("Va", "Vt"),
    "W" + ci("ash"),
    ci("Wis") + ci("c") + "?",
    words("Wyo"),
)
ABCOMP = alt(
    words("Inc"),
    ci("Co") + ci("s") + "?",
    words("Corp"),
    ci("P") + ci("p") + "?" + ci("t") + "[ye]" + ci("s") + "?",
    words("Ltd", "Plc", "Rt", "Bancorp", "Bhd", "Assn", "Univ", "Intl", "Sys"),
)
ABNUM = words("tel", "est", "ext", "sq")
ABPTIT = alt(words("Jr", "Sr", "Bros"), alt(ci("Ed"), ci("Ph")) + ci(".D"), words("Blvd", "Rd", "Esq"))
ABBREV1 = alt(ABMONTH, ABDAYS, ABSTATE, ABCOMP, ABNUM, ABPTIT, words("etc", "al", "seq", "Bldg")) + r"\."
ABTITLE = alt(
    words("Mr", "Mrs", "Ms"),
    "M" + ci("iss"),
    ci("Dr") + ci("s") + "?",
    ci("Prof") + ci("s") + "?",
    ci("Sen") + ci("s") + "?",
    ci("Rep") + ci("s") + "?",
    ci("Atty") + ci("s") + "?",
    words("Lt", "Col", "Gen", "Messrs"),
    ci("Gov") + ci("s") + "?",
    words("Adm", "Rev", "Maj", "Sgt", "Cpl", "Pvt", "Capt"),
    ci("St") + ci("e") + "?",
    words("Ave", "Pres", "Lieut", "Hon", "Brig"),
    ci("C") + ci("o") + "?" + ci("mdr"),
    words("Pfc", "Spc"),
    ci("Supt") + ci("s") + "?",
    words("Det", "Mt", "Ft", "Adj", "Adv", "Asst", "Assoc", "Ens", "Insp", "Mlle", "Mme", "Msgr", "Sfc"),
)
ABCOMP2 = alt(words("Invt", "Elec", "Natl"), ci("M") + "[ft]" + ci("g"), words("Dept"))
ABBREV4 = alt(
    ABTITLE, words("vs", "Alex", "Wm", "Jos", "Cie"), ci("a.k.a"), words("cf", "TREAS", "Ph"), ACRO, ABCOMP2
)
ABBREV2 = ABBREV4 + r"\."
ACRONYM = alt(ACRO) + r"\."
ABBREV3 = words("ca", "fig", "figs", "prop", "no", "nos", "art", "bldg", "pp", "op") + r"\."
PHONE = alt(
    r"(?:\([0-9]{2,3}\)[ \u00a0]?|(?:\+\+?)?(?:[0-9]{2,4}[\- \u00a0])?[0-9]{2,4}[\- \u00a0])[0-9]{3,4}[\- \u00a0]?[0-9]{3,5}",
    r"(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}",
)
FAKEDUCKFEET = r"(?:<<|>>)"
LESSTHAN = alt("<", "&" + ci("lt") + ";")
GREATERTHAN = alt(">", "&" + ci("gt") + ";")
HYPHENS = r"\-+"
LDOTS = alt(r"\.{3,5}", r"(?:\.[ \u00a0]){2,4}\.", "[\u0085\u2026]")
FNMARKS = alt("@+", "#+", "_+")
ASTS = alt(r"\*+", r"(?:\\\*){1,3}")
INSENTP = "[,;:\u3001]"
QUOTES = alt(
    APOS,
    "''",
    "[`\u2018\u2019\u201a\u201b\u201c\u201d\u0091\u0092\u0093\u0094\u201e\u201f\u2039\u203a\u00ab\u00bb]{1,2}",
)
DBLQUOT = alt('"', "&" + ci("quot") + ";")
TBSPEC = alt(
    "-" + words("RRB", "LRB", "RCB", "LCB", "RSB", "LSB") + "-",
    ci("C.D.s"),
    ci("pro-"),
    ci("anti-"),
    ci("S") + alt("&", SPAMP) + ci("P-500"),
    ci("S") + alt("&", SPAMP) + ci("Ls"),
    ci("Cap") + APOS + ci("n"),
    ci("c") + APOS + ci("est"),
)
TBSPEC2 = APOS + "[0-9][0-9]"
SMILEY = r"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]"
ASIANSMILEY = alt(
    r"[\^x=~<>]\.\[\^" + ci("x") + r"=~<>\]",
    r"[\-\^x=~<>']_[\-\^x=~<>']",
    r"\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)",
    r"\([\^x=~<>']-[\^x=~<>'`]\)",
)
MISCSYMBOL = (
    "[+%&~\\^|\\\\\u00a6\u00a7\u00a8\u00a9\u00ac\u00ae\u00af\u00b0-\u00b3\u00b4-\u00ba\u00d7\u00f7\u0387\u05be\u05c0"
    "\u05c3\u05c6\u05f3\u05f4\u0600-\u0603\u0606-\u060a\u060c\u0614\u061b\u061e\u066a\u066d\u0703-\u070d"
    "\u07f6\u07f7\u07f8\u0964\u0965\u0e4f\u1fbd\u2016\u2017\u2020-\u2023\u2030-\u2038\u203b\u203e-\u2042"
    "\u2044\u207a-\u207f\u208a-\u208e\u2100-\u214f\u2190-\u21ff\u2200-\u2bff\u3012\u30fb\uff01-\uff0f"
    "\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)
ACRONYM_FOLLOWERS = alt(
    *(
        f"[{w[0]}]{ci(w[1:])}"
        for w in (
            "About According Additionally After An A As At But Earlier He Her Here However If In It Last Many "
            "More Now Once One Other Our She Since So Some Such That The Their Then There These They This We "
            "When While What Yet You"
        ).split()
    ),
    "[M]" + ci("r."),
    "[M]" + ci("s."),
    SGML,
)


@dataclass(frozen=True)
class Rule:
    """One scanner rule: ``pattern`` (JFlex's r1), optional trailing ``context`` (r2), and its action name."""

    name: str
    pattern: str
    action: str
    context: str | None = None


# In the order of PTBLexer.flex: on equal match lengths the earlier rule wins.
RULES: tuple[Rule, ...] = (
    Rule("c++", ci("c") + r"[+][+]", "keep"),
    Rule("c#", alt(ci("c"), ci("f")) + "#", "keep"),
    Rule("cannot", ci("cannot"), "pushback3"),
    Rule("'twas", ci("'twas"), "pushback3"),
    Rule("'tis", ci("'tis"), "pushback2"),
    Rule("gonna", words("gonna", "gotta", "lemme", "gimme", "wanna"), "pushback2"),
    Rule("SGML", SGML, "nbsp"),
    Rule("SPMDASH", SPMDASH, "mdash"),
    Rule("SPAMP", SPAMP, "amp"),
    Rule("SPPUNC", SPPUNC, "keep"),
    Rule("WORD/REDAUX", WORD, "softhyphen", REDAUX),
    Rule("SWORD/SREDAUX", SWORD, "softhyphen", SREDAUX),
    Rule("WORD", WORD, "softhyphen"),
    Rule("APOWORD", APOWORD, "keep"),
    Rule("APOWORD2", APOWORD2, "keep", JLETTER),
    Rule("FULLURL", FULLURL, "keep"),
    Rule("LIKELYURL", LIKELYURL, "keep"),
    Rule("EMAIL", EMAIL, "keep"),
    Rule("TWITTER", TWITTER, "keep"),
    Rule("REDAUX/", REDAUX, "quote_right", "[^A-Za-z]"),
    Rule("SREDAUX/", SREDAUX, "quote_right", "[^A-Za-z]"),
    Rule("DATE", DATE, "keep"),
    Rule("NUMBER", NUMBER, "softhyphen"),
    Rule("SUBSUPNUM", SUBSUPNUM, "keep"),
    Rule("FRAC", FRAC, "nbsp"),
    Rule("FRAC2", FRAC2, "fraction"),
    Rule("TBSPEC", TBSPEC, "amp"),
    Rule("THING3", THING3, "keep"),
    Rule("DOLSIGN", DOLSIGN, "keep"),
    Rule("DOLSIGN2", DOLSIGN2, "currency"),
    Rule("ACRONYM/", ACRONYM, "acronym", f"{SPACENLS}{ACRONYM_FOLLOWERS}{SPACENL}"),
    Rule("ABBREV3/", ABBREV3, "strip", f"{SPACENL}?\\p{{Nd}}"),
    Rule("PTY/", alt(ci("pt") + "[eyEY]", ci("co")) + r"\.", "keep", f"{SPACE}" + words("ltd", "lim")),
    Rule("ABBREV1/SENTEND", ABBREV1, "period_again", SENTEND),
    Rule("ABBREV1/", ABBREV1, "keep", r"(?s:..)"),
    Rule("ABBREV1", ABBREV1, "period_again"),
    Rule("ABBREV2", ABBREV2, "keep"),
    Rule("ABBREV4/", ABBREV4, "keep", SPACE),
    Rule("ACRO/", ACRO, "keep", SPACENL),
    Rule("TBSPEC2/", TBSPEC2, "keep", SPACENL),
    Rule("FILENAME/", FILENAME, "keep", alt(SPACENL, "[.?!,]")),
    Rule("WORD./", WORD + r"\.", "softhyphen", INSENTP),
    Rule("PHONE", PHONE, "phone"),
    Rule("DBLQUOT/", DBLQUOT, "quote_left", r"[A-Za-z0-9$]"),
    Rule("DBLQUOT", DBLQUOT, "quote_right"),
    Rule("DEL", "\x7f", "skip"),
    Rule("LESSTHAN", LESSTHAN, "lt"),
    Rule("GREATERTHAN", GREATERTHAN, "gt"),
    Rule("SMILEY/", SMILEY, "parens", "[^A-Za-z0-9]"),
    Rule("ASIANSMILEY", ASIANSMILEY, "parens"),
    Rule("{", r"\{", "const:-LCB-"),
    Rule("}", r"\}", "const:-RCB-"),
    Rule("[", r"\[", "const:-LSB-"),
    Rule("]", r"\]", "const:-RSB-"),
    Rule("(", r"\(", "const:-LRB-"),
    Rule(")", r"\)", "const:-RRB-"),
    Rule("HYPHENS", HYPHENS, "hyphens"),
    Rule("LDOTS", LDOTS, "const:..."),
    Rule("FNMARKS", FNMARKS, "keep"),
    Rule("ASTS", ASTS, "keep"),
    Rule("INSENTP", INSENTP, "keep"),
    Rule("?!", r"[?!]+", "keep"),
    Rule("PERIOD", "[.\u00a1\u00bf\u037e\u0589\u061f\u06d4\u0700-\u0702\u07fa\u3002]", "keep"),
    Rule("=", "=", "keep"),
    Rule("/", "/", "keep"),
    Rule("HTHING./", HTHING + r"\.", "softhyphen", INSENTP),
    Rule("HTHING", HTHING, "softhyphen"),
    Rule("THING./", THING + r"\.", "keep", INSENTP),
    Rule("THING", THING, "keep"),
    Rule("THINGA./", THINGA + r"\.", "amp", INSENTP),
    Rule("THINGA", THINGA, "amp"),
    Rule("'/", "'", "quote_left", "[A-Za-z][^ \\t\\n\\r\u00a0]"),
    Rule("REDAUX", REDAUX, "quote_right"),
    Rule("SREDAUX", SREDAUX, "quote_right"),
    Rule("QUOTES", QUOTES, "quote_right"),
    Rule("FAKEDUCKFEET", FAKEDUCKFEET, "keep"),
    Rule("MISCSYMBOL", MISCSYMBOL, "keep"),
    Rule("SPACES", alt("\x00", SPACES, "[\u200b\u200e\u200f\ufeff]"), "skip"),
    Rule("NEWLINE", NEWLINE, "newline"),
    Rule("&nbsp;", "&" + ci("nbsp") + ";", "skip"),
    Rule("UNTOKENIZABLE", r"[^\n]", "skip"),
)
