"""Request properties of the Stanford CoreNLP server, per language.

One place for what the enrich stage's client sends and what the services
script's health check sends, so the health check loads exactly the models
the pipeline will use (the server builds and caches one pipeline per set of
properties, and loads its models on the first request that needs them).

NER only: the language's tokenizer (and multi-word-token splitter, which
French, German and Spanish tokenization needs for correct offsets) and its
CRF NER model. ``enforceRequirements=false`` skips the part-of-speech tagger
and lemmatizer that the ``ner`` annotator declares but that the CRF models
do not read (the tags are identical with and without them on the labelled
sets; docs/enrichment.md). No SUTime, numeric classifiers, fine-grained
labels, regexner, parse, depparse, kbp or coref.
"""

from __future__ import annotations

__all__ = ["CORENLP_LANGUAGES", "NER_MODELS", "ner_properties"]

CORENLP_LANGUAGES = ("en", "de", "fr", "es", "it")

_MODELS = "edu/stanford/nlp/models"
NER_MODELS = {
    # CoNLL 2003 + MUC 6/7 + ACE 2002 (English, 3 classes); the default 4-
    # and 7-class models add MISC, dates and money, which we do not use.
    "en": f"{_MODELS}/ner/english.all.3class.distsim.crf.ser.gz",
    "de": f"{_MODELS}/ner/german.distsim.crf.ser.gz",
    "fr": f"{_MODELS}/ner/french-wikiner-4class.crf.ser.gz",
    "es": f"{_MODELS}/ner/spanish.ancora.distsim.s512.crf.ser.gz",
    "it": f"{_MODELS}/ner/italian.crf.ser.gz",
}

_COMMON = {
    "ner.applyNumericClassifiers": "false",
    "ner.applyFineGrained": "false",
    "ner.useSUTime": "false",
    "ner.buildEntityMentions": "false",
    "enforceRequirements": "false",
    "outputFormat": "json",
    # Two newlines end a sentence: the client joins texts with blank lines.
    "ssplit.newlineIsSentenceBreak": "two",
}

_TOKENIZERS: dict[str, dict[str, str]] = {
    "en": {"annotators": "tokenize,ssplit,ner", "tokenize.language": "en"},
    "de": {
        "annotators": "tokenize,ssplit,mwt,ner",
        "tokenize.language": "de",
        "tokenize.postProcessor":
            "edu.stanford.nlp.international.german.process.GermanTokenizerPostProcessor",
        "mwt.mappingFile": f"{_MODELS}/mwt/german/german-mwt.tsv",
    },
    "fr": {
        "annotators": "tokenize,ssplit,mwt,ner",
        "tokenize.language": "fr",
        "mwt.mappingFile": f"{_MODELS}/mwt/french/french-mwt.tsv",
        "mwt.pos.model": f"{_MODELS}/mwt/french/french-mwt.tagger",
        "mwt.statisticalMappingFile": f"{_MODELS}/mwt/french/french-mwt-statistical.tsv",
        "mwt.preserveCasing": "false",
    },
    "es": {
        "annotators": "tokenize,ssplit,mwt,ner",
        "tokenize.language": "es",
        "mwt.mappingFile": f"{_MODELS}/mwt/spanish/spanish-mwt.tsv",
    },
    "it": {
        # Italian ships a statistical tokenizer that also splits sentences.
        "annotators": "cdc_tokenize,ner",
        "cdc_tokenize.model": f"{_MODELS}/cdc-tokenize/it-tokenizer.ser.gz",
        "cdc_tokenize.multiWordRules": f"{_MODELS}/cdc-tokenize/it-multiword.txt",
    },
}


def ner_properties(language: str) -> dict[str, str]:
    """Properties of an NER-only request for ``language`` (one of
    :data:`CORENLP_LANGUAGES`); KeyError for any other."""
    return {**_TOKENIZERS[language], "ner.model": NER_MODELS[language], **_COMMON}
