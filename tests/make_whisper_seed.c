/* Writes a small random-weight Whisper model (tests/whisper_rand.h: 80 mels,
 * 30 s windows, 64 wide, 2 + 2 blocks, 400 tokens) to argv[1]: fuzz_model's
 * seed for Whisper files. */
#include <stdio.h>
#include <stdlib.h>

#include "whisper_rand.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_whisper_seed OUT.gguf\n");
        return 2;
    }
    whisper_rand_cfg c = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 5};
    int32_t sup[4] = {1, 2, 7, 8};
    void *data = NULL;
    size_t size = 0;
    if (whisper_rand_model(&c, sup, 4, &data, &size) != 0) {
        fprintf(stderr, "make_whisper_seed: the model was not made\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "wb");
    int ok = f && fwrite(data, 1, size, f) == size;
    if (f)
        ok = fclose(f) == 0 && ok;
    free(data);
    if (!ok) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
