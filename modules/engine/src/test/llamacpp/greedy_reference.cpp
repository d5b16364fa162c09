// Greedy continuation of a prompt given as token ids, through llama.cpp's library: the reference
// the engine's architecture tests pin (run once; its output is pasted into the test). Printed as
// one JSON object: the generated ids and, per step, llama.cpp's top-two logit gap, so that a
// near-tie (where two correct implementations may pick differently) is visible.
//
// Build and run (from the repository root; LLAMA is a llama.cpp checkout built with CMake):
//   g++ -O2 -std=c++17 -I$LLAMA/include -I$LLAMA/ggml/include \
//       modules/engine/src/test/llamacpp/greedy_reference.cpp -L$LLAMA/build/bin -lllama -lggml -lggml-base \
//       -o /tmp/greedy_reference
//   LD_LIBRARY_PATH=$LLAMA/build/bin /tmp/greedy_reference model.gguf 32 f32 1 300 301 302
#include "llama.h"
#include "ggml-backend.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static void quiet(ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s model.gguf n_predict f16|f32 token_id...\n", argv[0]);
        return 2;
    }
    const int n_predict = atoi(argv[2]);
    const bool f32_cache = strcmp(argv[3], "f32") == 0;
    std::vector<llama_token> prompt;
    for (int i = 4; i < argc; i++) {
        prompt.push_back(atoi(argv[i]));
    }
    llama_log_set(quiet, nullptr);
    ggml_backend_load_all();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = prompt.size() + n_predict + 8;
    cp.n_batch = prompt.size();
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    if (f32_cache) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
    }
    llama_context * ctx = llama_init_from_model(model, cp);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    std::vector<int> out;
    std::vector<float> gaps;
    llama_batch batch = llama_batch_get_one(prompt.data(), prompt.size());
    llama_token next;
    for (int i = 0; i < n_predict; i++) {
        if (llama_decode(ctx, batch)) {
            fprintf(stderr, "decode failed\n");
            return 1;
        }
        const float * logits = llama_get_logits_ith(ctx, -1);
        int best = 0;
        for (int t = 1; t < n_vocab; t++) {
            if (logits[t] > logits[best]) best = t;
        }
        float second = -INFINITY;
        for (int t = 0; t < n_vocab; t++) {
            if (t != best && logits[t] > second) second = logits[t];
        }
        out.push_back(best);
        gaps.push_back(logits[best] - second);
        next = best;
        batch = llama_batch_get_one(&next, 1);
    }
    printf("{\"tokens\": [");
    for (size_t i = 0; i < out.size(); i++) printf("%s%d", i ? ", " : "", out[i]);
    printf("], \"gaps\": [");
    for (size_t i = 0; i < gaps.size(); i++) printf("%s%.5f", i ? ", " : "", gaps[i]);
    printf("]}\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
