#!/bin/sh
# Health check of the corenlp image (deploy/corenlp/Dockerfile): annotates one
# sentence per language with the request properties the enrich stage sends
# (shared/corenlp.py ner_properties, URL-encoded; tests/unit/test_compose.py
# checks they are the same) and expects each entity tag of the sentence in the
# answer. The first run loads every language's models (seconds each).
set -u

probe() {
  lang=$1 text=$2 tags=$3 props=$4
  answer=$(wget -q -T 15 -O - --header 'Content-Type: text/plain; charset=utf-8' \
    --post-data "$text" "http://localhost:9000/?properties=$props") || {
    echo "corenlp: no answer for $lang" >&2; exit 1; }
  for tag in $tags; do
    case $answer in
      *"\"ner\": \"$tag\""*) ;;
      *) echo "corenlp: $lang answer lacks $tag" >&2; exit 1 ;;
    esac
  done
}

probe en 'Angela Merkel visited Paris.' 'PERSON LOCATION' \
  '%7B%22annotators%22%3A%22tokenize%2Cssplit%2Cner%22%2C%22tokenize.language%22%3A%22en%22%2C%22ner.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fner%2Fenglish.all.3class.distsim.crf.ser.gz%22%2C%22ner.applyNumericClassifiers%22%3A%22false%22%2C%22ner.applyFineGrained%22%3A%22false%22%2C%22ner.useSUTime%22%3A%22false%22%2C%22ner.buildEntityMentions%22%3A%22false%22%2C%22enforceRequirements%22%3A%22false%22%2C%22outputFormat%22%3A%22json%22%2C%22ssplit.newlineIsSentenceBreak%22%3A%22two%22%7D'
probe de 'Angela Merkel besuchte Paris.' 'PERSON LOCATION' \
  '%7B%22annotators%22%3A%22tokenize%2Cssplit%2Cmwt%2Cner%22%2C%22tokenize.language%22%3A%22de%22%2C%22tokenize.postProcessor%22%3A%22edu.stanford.nlp.international.german.process.GermanTokenizerPostProcessor%22%2C%22mwt.mappingFile%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fmwt%2Fgerman%2Fgerman-mwt.tsv%22%2C%22ner.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fner%2Fgerman.distsim.crf.ser.gz%22%2C%22ner.applyNumericClassifiers%22%3A%22false%22%2C%22ner.applyFineGrained%22%3A%22false%22%2C%22ner.useSUTime%22%3A%22false%22%2C%22ner.buildEntityMentions%22%3A%22false%22%2C%22enforceRequirements%22%3A%22false%22%2C%22outputFormat%22%3A%22json%22%2C%22ssplit.newlineIsSentenceBreak%22%3A%22two%22%7D'
probe fr 'Angela Merkel a visité Paris.' 'I-PER I-LOC' \
  '%7B%22annotators%22%3A%22tokenize%2Cssplit%2Cmwt%2Cner%22%2C%22tokenize.language%22%3A%22fr%22%2C%22mwt.mappingFile%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fmwt%2Ffrench%2Ffrench-mwt.tsv%22%2C%22mwt.pos.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fmwt%2Ffrench%2Ffrench-mwt.tagger%22%2C%22mwt.statisticalMappingFile%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fmwt%2Ffrench%2Ffrench-mwt-statistical.tsv%22%2C%22mwt.preserveCasing%22%3A%22false%22%2C%22ner.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fner%2Ffrench-wikiner-4class.crf.ser.gz%22%2C%22ner.applyNumericClassifiers%22%3A%22false%22%2C%22ner.applyFineGrained%22%3A%22false%22%2C%22ner.useSUTime%22%3A%22false%22%2C%22ner.buildEntityMentions%22%3A%22false%22%2C%22enforceRequirements%22%3A%22false%22%2C%22outputFormat%22%3A%22json%22%2C%22ssplit.newlineIsSentenceBreak%22%3A%22two%22%7D'
probe es 'Angela Merkel visitó París.' 'PERSON LOCATION' \
  '%7B%22annotators%22%3A%22tokenize%2Cssplit%2Cmwt%2Cner%22%2C%22tokenize.language%22%3A%22es%22%2C%22mwt.mappingFile%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fmwt%2Fspanish%2Fspanish-mwt.tsv%22%2C%22ner.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fner%2Fspanish.ancora.distsim.s512.crf.ser.gz%22%2C%22ner.applyNumericClassifiers%22%3A%22false%22%2C%22ner.applyFineGrained%22%3A%22false%22%2C%22ner.useSUTime%22%3A%22false%22%2C%22ner.buildEntityMentions%22%3A%22false%22%2C%22enforceRequirements%22%3A%22false%22%2C%22outputFormat%22%3A%22json%22%2C%22ssplit.newlineIsSentenceBreak%22%3A%22two%22%7D'
probe it 'Angela Merkel ha visitato Parigi.' 'PER LOC' \
  '%7B%22annotators%22%3A%22cdc_tokenize%2Cner%22%2C%22cdc_tokenize.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fcdc-tokenize%2Fit-tokenizer.ser.gz%22%2C%22cdc_tokenize.multiWordRules%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fcdc-tokenize%2Fit-multiword.txt%22%2C%22ner.model%22%3A%22edu%2Fstanford%2Fnlp%2Fmodels%2Fner%2Fitalian.crf.ser.gz%22%2C%22ner.applyNumericClassifiers%22%3A%22false%22%2C%22ner.applyFineGrained%22%3A%22false%22%2C%22ner.useSUTime%22%3A%22false%22%2C%22ner.buildEntityMentions%22%3A%22false%22%2C%22enforceRequirements%22%3A%22false%22%2C%22outputFormat%22%3A%22json%22%2C%22ssplit.newlineIsSentenceBreak%22%3A%22two%22%7D'
