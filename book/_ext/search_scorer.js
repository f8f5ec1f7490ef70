// The search scorer of the four-language book (book/_ext/search.py): Sphinx's default scores,
// plus a bonus for the pages (chapters and labs) of the reader's language, so that they come first.
var Scorer = {
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,

  // The reader's language: that of the query's script, else that of the page searched from.
  readerLanguage: () => {
    const query = new URLSearchParams(window.location.search).get("q") || "";
    if (/[\u0900-\u097f]/.test(query)) return "hi";
    if (/[\u0980-\u09ff]/.test(query)) return "bn";
    const referrer = document.referrer || "";
    const chapterOrLab = referrer.match(/\/book\/(en|cs|bn|hi)\/|\/notebooks\/(cs|bn|hi)\//);
    if (chapterOrLab) return chapterOrLab[1] || chapterOrLab[2];
    return /\/notebooks\/[^/]+\.html/.test(referrer) ? "en" : null;  // an English lab
  },

  // A page's language: a chapter's (book/<lang>/...) or a lab's (notebooks/<lang>/..., English: notebooks/...).
  pageLanguage: (docname) => {
    const chapter = docname.match(/^book\/(en|cs|bn|hi)\//);
    if (chapter) return chapter[1];
    const lab = docname.match(/^notebooks\/(?:(cs|bn|hi)\/)?[^/]+$/);
    return lab ? lab[1] || "en" : null;
  },

  score: (result) => {
    const [docname, , , , score] = result;
    const lang = Scorer.readerLanguage();
    return lang && Scorer.pageLanguage(docname) === lang ? score + 100 : score;
  },
};
