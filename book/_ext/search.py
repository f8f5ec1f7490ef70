"""Search in four languages: whole Hindi and Bengali words, and the reader's language first.

Sphinx builds one search index for the whole site, in the build's language (English). Its word
splitter (``\\w+`` in Python, letters and numbers in JavaScript) breaks Devanagari and Bengali
words at their vowel signs and viramas, which are combining marks, not letters: "पैरामीटर"
becomes "प", "र", "म", "ट", "र" and matches any page with those letters. This extension

* indexes words with their combining marks (and the zero-width joiners of both scripts), and
  splits the reader's query the same way;
* ranks the pages of the reader's language first: the language of the query's script
  (Devanagari: Hindi, Bengali script: Bengali), else that of the page the reader searched from.

Leaves stemming as Sphinx does it for English (Czech words are stemmed by the English rules,
consistently in the index and in the query) and the search page's own interface strings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.search.en import SearchEnglish

#: Letters, digits and underscores, plus combining marks and the zero-width (non-)joiner; not the
#: danda and double danda (U+0964, U+0965), the full stops of both scripts.
WORD = re.compile(r"(?:\w|[\u0300-\u036f\u0900-\u0963\u0966-\u097f\u0980-\u09ff\u200c\u200d])+")

SPLITTER_JS = r"""
function splitQuery(query) {
  return query
    .split(/[^\p{Letter}\p{Number}\p{Mark}_\p{Emoji_Presentation}\u200c\u200d]+/gu)
    .filter(term => term);
}
"""


class SearchFourLanguages(SearchEnglish):
    """English search (stemming, stop words) whose words keep their combining marks."""

    _word_re = WORD
    js_splitter_code = SPLITTER_JS


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_search_language(SearchFourLanguages)
    app.config.html_search_scorer = str(Path(__file__).with_name("search_scorer.js"))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
