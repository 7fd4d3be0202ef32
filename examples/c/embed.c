/* Embeds a binary PPM (P6) image with libruvector_cnn and prints the vector as one line of
 * space-separated floats.
 *
 *   cargo build --release -p ruvector-cnn-capi
 *   cc -std=c99 -O2 -Iinclude examples/c/embed.c target/release/libruvector_cnn.a \
 *      -lpthread -ldl -lm -o embed
 *   ./embed photo.ppm                      # default pretrained model (run `rvcnn fetch` once)
 *   ./embed photo.ppm model.safetensors    # any model file rvcnn can load
 *
 * (Convert other formats with e.g. `convert photo.jpg photo.ppm` or Pillow.) */
#include "ruvector_cnn.h"

#include <stdio.h>
#include <stdlib.h>

/* Reads a P6 PPM with maxval 255; returns malloc'd RGB bytes or NULL. */
static unsigned char *read_ppm(const char *path, unsigned *w, unsigned *h) {
    FILE *f = fopen(path, "rb");
    unsigned maxval = 0;
    unsigned char *px = NULL;
    size_t n;
    if (!f) return NULL;
    if (fscanf(f, "P6 %u %u %u", w, h, &maxval) == 3 && maxval == 255 && fgetc(f) != EOF &&
        *w > 0 && *h > 0 && *w < 65536 && *h < 65536) {
        n = (size_t)*w * *h * 3;
        px = malloc(n);
        if (px && fread(px, 1, n, f) != n) {
            free(px);
            px = NULL;
        }
    }
    fclose(f);
    return px;
}

int main(int argc, char **argv) {
    rvcnn_embedder *e = NULL;
    rvcnn_status s;
    rvcnn_image img;
    unsigned w = 0, h = 0;
    size_t dim = 0, i;
    float *v;
    unsigned char *px;

    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE.ppm [WEIGHTS.safetensors]\n", argv[0]);
        return 2;
    }
    px = read_ppm(argv[1], &w, &h);
    if (!px) {
        fprintf(stderr, "%s: not a binary PPM (P6, maxval 255)\n", argv[1]);
        return 1;
    }
    s = argc > 2 ? rvcnn_embedder_create_from_file(argv[2], NULL, &e)
                 : rvcnn_embedder_create_default(NULL, &e);
    if (s != RVCNN_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", rvcnn_status_string(s), rvcnn_last_error_message());
        free(px);
        return 1;
    }
    rvcnn_embedder_dim(e, &dim);
    v = malloc(dim * sizeof *v);
    img.data = px;
    img.data_len = (size_t)w * h * 3;
    img.width = w;
    img.height = h;
    img.stride = (size_t)w * 3;
    img.format = RVCNN_PIXEL_RGB8;
    s = v ? rvcnn_embedder_embed(e, &img, v, dim) : RVCNN_STATUS_OUT_OF_MEMORY;
    if (s == RVCNN_STATUS_OK) {
        for (i = 0; i < dim; i++) printf(i ? " %g" : "%g", v[i]);
        printf("\n");
    } else {
        fprintf(stderr, "%s: %s\n", rvcnn_status_string(s), rvcnn_last_error_message());
    }
    free(v);
    free(px);
    rvcnn_embedder_destroy(e);
    return s == RVCNN_STATUS_OK ? 0 : 1;
}
