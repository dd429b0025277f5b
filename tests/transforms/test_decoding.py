"""Sniffing and decoding of fetched bytes (FAULTS 25, 37, 38, 53, 59)."""

from __future__ import annotations

import codecs
import gzip

import pytest

from transforms.decoding import (
    decode_html,
    decode_page,
    detect_language,
    normalize_encoding,
    sniff_binary,
)
from transforms.pageclass import PageClass

HTML = "<html><body><p>Café “quoted” — naïve</p></body></html>"


@pytest.mark.parametrize(("body", "kind"), [
    (b"%PDF-1.4\n", "pdf"),
    (b"\x89PNG\r\n\x1a\n....", "png"),
    (b"GIF89a....", "gif"),
    (b"\xff\xd8\xff\xe0..JFIF", "jpeg"),
    (b"PK\x03\x04....", "zip"),
    (gzip.compress(b"<html></html>", mtime=0), "gzip"),  # fixed bytes: the same test id in each worker
    (b"\x28\xb5\x2f\xfd....", "zstd"),
    (b"BZh91AY&SY", "bzip2"),
    (b"\x00\x00\x00\x18ftypmp42", "mp4"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
    (bytes(range(32)) * 20, "binary"),
])
def test_case_25_53_magic_bytes_are_sniffed(body: bytes, kind: str) -> None:
    assert sniff_binary(body) == kind
    decoded = decode_page(body, "text/html")
    assert decoded.page_class is PageClass.BINARY and decoded.text is None


@pytest.mark.parametrize("body", [HTML.encode(), codecs.BOM_UTF16_LE + HTML.encode("utf-16-le")])
def test_text_is_not_binary(body: bytes) -> None:
    assert sniff_binary(body) is None


@pytest.mark.parametrize(("body", "ctype", "encoding"), [
    (HTML.encode("utf-8"), "text/html; charset=utf-8", "utf-8"),
    # Valid UTF-8 declared as latin-1: the bytes win (FAULTS 37).
    (HTML.encode("utf-8"), "text/html; charset=ISO-8859-1", "utf-8"),
    # Windows-1252 smart quotes declared as UTF-8.
    (HTML.encode("cp1252"), "text/html; charset=utf-8", "cp1252"),
    # latin-1 label means windows-1252 (WHATWG).
    (HTML.encode("cp1252"), "text/html; charset=latin1", "cp1252"),
    (codecs.BOM_UTF16_LE + HTML.encode("utf-16-le"), "text/html", "utf-16-le"),
    (codecs.BOM_UTF8 + HTML.encode("utf-8"), "text/html; charset=cp1251", "utf-8"),
])
def test_case_37_encoding_mismatches_decode_deterministically(body: bytes, ctype: str,
                                                              encoding: str) -> None:
    text, used = decode_html(body, ctype)
    assert used == encoding
    assert "Café “quoted” — naïve" in text


def test_case_59_meta_charset_after_1024_bytes() -> None:
    body = ("<html><head><!--" + " " * 2000 + "--><meta charset='windows-1251'></head>"
            "<body><p>Привет, мир! Это тестовая страница.</p></body></html>").encode("cp1251")
    text, used = decode_html(body, "text/html")
    assert used == "cp1251"
    assert "Привет, мир!" in text


def test_case_59_http_charset_conflicting_with_meta_is_arbitrated() -> None:
    body = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>"
            "</head><body>" + "<p>Городской совет одобрил новый план развития гавани.</p>" * 5
            + "</body></html>").encode("koi8-r")
    text, used = decode_html(body, "text/html; charset=iso-8859-1")
    assert used == "koi8-r"
    assert "Городской совет" in text


def test_case_38_control_characters_and_lone_surrogates_are_removed() -> None:
    body = b"<html><body><p>a\x00b\x0bc\x1fd and a long enough paragraph of text</p>\xff"
    page = decode_page(body, "text/html")
    assert page.text is not None
    assert "\x00" not in page.text and "\x0b" not in page.text and "\x1f" not in page.text
    page.text.encode("utf-8")


@pytest.mark.parametrize("body", [b"", b"  \r\n\t "])
def test_case_52_empty_body(body: bytes) -> None:
    assert decode_page(body, "text/html").page_class is PageClass.NO_CONTENT


@pytest.mark.parametrize("ctype", ["application/pdf", "image/png; q=1", "video/mp4", "audio/mpeg",
                                   "application/json", "application/rss+xml", "text/css"])
def test_case_26_non_html_content_types(ctype: str) -> None:
    page = decode_page(b"not sniffable text", ctype)
    assert page.page_class is PageClass.NON_HTML


def test_missing_content_type_is_treated_as_html() -> None:
    page = decode_page(HTML.encode(), None)
    assert page.page_class is None and page.encoding == "utf-8"


@pytest.mark.parametrize(("label", "name"), [
    ("UTF-8", "utf-8"), ("iso-8859-1", "cp1252"), ("gb2312", "gb18030"),
    ("Shift_JIS", "cp932"), ("x-unknown-charset", None), (None, None),
])
def test_normalize_encoding(label: str | None, name: str | None) -> None:
    assert normalize_encoding(label) == name


@pytest.mark.parametrize(("text", "code"), [
    ("The parliament approved a new law on Thursday that should strengthen the rights of "
     "tenants across the country.", "en"),
    ("Der Bundestag hat am Donnerstag ein neues Gesetz beschlossen, das die Rechte der Mieter "
     "stärken soll.", "de"),
    ("Eduskunta hyväksyi torstaina uuden lain, jonka on tarkoitus vahvistaa vuokralaisten "
     "oikeuksia ja asemaa.", "fi"),
    ("Госдума в четверг приняла новый закон, который должен укрепить права арендаторов.", "ru"),
    ("Верховна Рада в четвер ухвалила новий закон, який має посилити права орендарів.", "uk"),
    ("Le Parlement a adopté jeudi une nouvelle loi qui doit renforcer les droits des "
     "locataires.", "fr"),
    ("O Congresso aprovou na quinta-feira uma nova lei que deve reforçar os direitos dos "
     "inquilinos.", "pt"),
    ("Sněmovna ve čtvrtek schválila nový zákon, který má posílit práva nájemníků v celé "
     "zemi.", "cs"),
    ("市議会は木曜日、港湾地区の新しい開発計画を承認した。", "ja"),
    ("市议会周四批准了港口区的新发展计划。", "zh"),
    ("시의회는 목요일 항구 지역의 새로운 개발 계획을 승인했다.", "ko"),
    ("12 34 56", None),
    ("", None),
])
def test_detect_language(text: str, code: str | None) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", [
    "<p>plain ascii</p>", "<p>caf\u00e9 \u2014 \u65e5\u672c</p>", "a\x00b\x1bc\x0bd\x0ce\x1ff",
    "tab\tnew\nline\rreturn\x7f kept", "x\ufffe y\uffff z\ufffd", "\x08", "",
])
def test_utf8_fast_path_cleans_exactly_as_the_regexes(text: str) -> None:
    from transforms.decoding import _clean, _clean_utf8

    body = text.encode("utf-8")
    assert _clean_utf8(body, text) == _clean(text)
    assert decode_html(body, "text/html; charset=utf-8")[0] == _clean(text)


def test_stopword_index_is_the_one_built_word_by_word() -> None:
    """The fast build (one read per list, dict.fromkeys, shared words by intersection) gives
    the index the plain loop over justext's lists gives: same words, same languages in the
    same order, same damping."""
    from collections import defaultdict

    import justext

    from transforms import decoding

    plain: defaultdict[str, list[str]] = defaultdict(list)
    damp: dict[str, float] = {}
    for name, code in decoding._STOPLISTS.items():
        words = justext.get_stoplist(name)
        assert decoding._stoplist(name) == words, name
        damp[code] = min(1.0, 800 / max(len(words), 1))
        for word in words:
            if (not word.isascii()) if code in decoding._NON_LATIN else all(
                    ord(ch) < 0x250 for ch in word):
                plain[word].append(code)
    index, fast_damp = decoding._stopword_index()
    assert fast_damp == damp
    assert index == {word: tuple(codes) for word, codes in plain.items()}
    assert any(len(codes) > 1 for codes in index.values())


def test_the_stopword_index_is_built_once_and_read_back(tmp_path, monkeypatch):
    """The first worker builds the language detector's index and keeps it in the user's cache
    directory; later ones read the copy (the same index); a damaged copy is rebuilt, and a cache
    that cannot be written only costs the build."""
    import transforms.decoding as decoding

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = decoding._build_stopword_index()
    decoding._stopword_index.cache_clear()
    try:
        assert decoding._stopword_index() == built
        [kept] = (tmp_path / "cache" / "newsflow").glob("stopword-index-*.marshal")

        def no_build() -> None:
            raise AssertionError("built again instead of read")

        monkeypatch.setattr(decoding, "_build_stopword_index", no_build)
        decoding._stopword_index.cache_clear()
        assert decoding._stopword_index() == built
        assert decoding.detect_language("The cat sat on the mat and it was happy with that, "
                                        "because the sun was out and the day was warm") == "en"

        monkeypatch.undo()
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        kept.write_bytes(kept.read_bytes()[:1000])  # cut short
        decoding._stopword_index.cache_clear()
        assert decoding._stopword_index() == built
        assert kept.stat().st_size > 1000  # written whole again

        (tmp_path / "blocked").write_text("a file where the cache folder would go")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
        decoding._stopword_index.cache_clear()
        assert decoding._stopword_index() == built
    finally:
        decoding._stopword_index.cache_clear()
