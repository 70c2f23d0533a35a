/* Golden parity of the Conformer encoder and CTC head with NeMo
 * (tools/gen_conformer_fixtures.py): models with every parameter and
 * buffer randomized, converted by tools/nemo_to_gguf.py; NeMo's features
 * in, encoder outputs and log-probs compared at relative L2 <= 1e-4 and
 * max-abs <= 1e-3 (f32, CPU), greedy CTC tokens equal wherever NeMo's
 * top-1 margin exceeds 1e-3. Items of a padded NeMo batch are run alone. */
#include <math.h>
#include <string.h>

#include "asr/conformer.h"
#include "check.h"
#include "kernels/reference.h"

static float *read_f32(const char *name, int64_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/conformer/%s", SORI_FIXTURE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *x = malloc((size_t)bytes + 4);
    *n = (int64_t)(fread(x, 1, (size_t)bytes, f) / 4);
    fclose(f);
    return x;
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/conformer/manifest.tsv", SORI_FIXTURE_DIR);
    FILE *mf = fopen(path, "r");
    if (!mf)
        SKIP("conformer fixtures missing (tools/gen_conformer_fixtures.py)");
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    char tag[128], model[128];
    long long frames, out_frames, d, v;
    int cases = 0;
    while (fscanf(mf, "%127s %127s %lld %lld %lld %lld", tag, model, &frames, &out_frames, &d, &v) == 6) {
        snprintf(path, sizeof path, "%s/conformer/%s.gguf", SORI_FIXTURE_DIR, model);
        sori_conformer *m = NULL;
        CHECK_STATUS(sori_conformer_load(rt, path, &m, &err), SORI_OK);
        if (!m) {
            fprintf(stderr, "%s: %s\n", model, err.message);
            continue;
        }
        char name[200];
        int64_t nf, ne, nl;
        snprintf(name, sizeof name, "%s.feats.f32", tag);
        float *feats = read_f32(name, &nf);
        snprintf(name, sizeof name, "%s.enc.f32", tag);
        float *enc_ref = read_f32(name, &ne);
        snprintf(name, sizeof name, "%s.logp.f32", tag);
        float *lp_ref = read_f32(name, &nl);
        sori_conformer_info info = sori_conformer_get_info(m);
        CHECK(feats && enc_ref && lp_ref && nf == frames * info.feat_in, "%s: fixture sizes", tag);
        CHECK(sori_conformer_out_frames(m, frames) == out_frames, "%s: %lld frames out, NeMo %lld", tag,
              (long long)sori_conformer_out_frames(m, frames), out_frames);
        CHECK(info.d_model == d && info.vocab_size + 1 == v, "%s: shapes", tag);
        float *enc = malloc((size_t)(out_frames * d) * 4), *lp = malloc((size_t)(out_frames * v) * 4);
        CHECK_STATUS(sori_conformer_forward(m, feats, frames, enc, lp, &err), SORI_OK);
        double rel, mx, rel2, mx2;
        sori_compare(enc, enc_ref, out_frames * d, &rel, &mx);
        sori_compare(lp, lp_ref, out_frames * v, &rel2, &mx2);
        CHECK(rel <= 1e-4 && mx <= 1e-3, "%s: encoder rel %.2e max %.2e", tag, rel, mx);
        CHECK(rel2 <= 1e-4 && mx2 <= 1e-3, "%s: log-probs rel %.2e max %.2e", tag, rel2, mx2);
        int compared = 0, differ = 0;
        for (int64_t t = 0; t < out_frames; t++) {
            const float *r = lp_ref + t * v, *o = lp + t * v;
            int a = 0, b = 0, second = -1;
            for (int j = 1; j < v; j++) {
                if (r[j] > r[a])
                    a = j;
                if (o[j] > o[b])
                    b = j;
            }
            for (int j = 0; j < v; j++)
                if (j != a && (second < 0 || r[j] > r[second]))
                    second = j;
            if (r[a] - r[second] > 1e-3) {
                compared++;
                differ += a != b;
            }
        }
        CHECK(differ == 0, "%s: %d of %d greedy tokens differ", tag, differ, compared);
        printf("  %-28s enc rel %.2e max %.2e | logp rel %.2e max %.2e | tokens %d/%d\n", tag, rel, mx,
               rel2, mx2, compared - differ, compared);
        cases++;
        free(enc);
        free(lp);
        free(feats);
        free(enc_ref);
        free(lp_ref);
        sori_conformer_free(m);
    }
    fclose(mf);
    CHECK(cases >= 4, "only %d cases", cases);
    sori_runtime_free(rt);
    return check_finish("test_conformer");
}
