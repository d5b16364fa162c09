// Build: g++ -O2 -std=c++17 -I$LLAMA/include -I$LLAMA/ggml/include greedy_ref.cpp -L$LLAMA/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$LLAMA/build/bin -o greedy_ref
// Run:   greedy_ref MODEL.gguf 40 1 300 301 302 303 304 305 306 307 308 309 310   (ArchitectureParityTest.PROMPT)
// Greedy reference ids from llama.cpp for Kvasir's architecture tests: prompt ids in, for each
// generated token its id and the gap between llama.cpp's top two logits (near-tie detector).
// usage: greedy_ref MODEL N_PREDICT ID ID ...
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char ** argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL N ID...\n", argv[0]); return 1; }
    int n = atoi(argv[2]);
    std::vector<llama_token> prompt;
    for (int i = 3; i < argc; i++) prompt.push_back(atoi(argv[i]));
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) return 2;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = prompt.size() + n + 8;
    cp.n_batch = cp.n_ctx;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    llama_context * ctx = llama_init_from_model(model, cp);
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_batch batch = llama_batch_get_one(prompt.data(), prompt.size());
    llama_token tok;
    printf("ids");
    std::vector<float> gaps;
    for (int i = 0; i < n; i++) {
        if (llama_decode(ctx, batch)) return 3;
        float * lg = llama_get_logits_ith(ctx, -1);
        int best = 0, second = -1;
        for (int v = 1; v < nv; v++) {
            if (lg[v] > lg[best]) { second = best; best = v; }
            else if (second < 0 || lg[v] > lg[second]) second = v;
        }
        gaps.push_back(lg[best] - lg[second]);
        tok = best;
        printf(" %d", tok);
        batch = llama_batch_get_one(&tok, 1);
    }
    printf("\ngaps");
    for (float g : gaps) printf(" %.5f", g);
    printf("\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
