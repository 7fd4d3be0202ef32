/* Embeds two images with libruvector_cnn and prints their cosine similarity.
 *
 *   cargo build --release -p ruvector-cnn-capi
 *   cc -std=c99 -O2 -Iinclude examples/c/embed.c target/release/libruvector_cnn.a \
 *      -lpthread -ldl -lm -o embed           # or, installed: $(pkg-config --cflags --libs ruvector_cnn)
 *   ./embed a.ppm b.ppm                      # default pretrained model (run `rvcnn fetch` once)
 *   ./embed a.ppm b.ppm model.safetensors    # any model file rvcnn can load
 *
 * Images are binary PPM (P6, maxval 255); convert others with e.g. `convert photo.jpg a.ppm`
 * or Pillow. Prints the embedding dimension and the cosine similarity. */
#include "ruvector_cnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads a P6 PPM with maxval 255 into *img (pixels malloc'd); returns 0 on success. */
static int read_ppm(const char *path, rvcnn_image *img) {
    FILE *f = fopen(path, "rb");
    unsigned w = 0, h = 0, maxval = 0;
    unsigned char *px = NULL;
    size_t n = 0;
    if (!f) return -1;
    if (fscanf(f, "P6 %u %u %u", &w, &h, &maxval) == 3 && maxval == 255 && fgetc(f) != EOF &&
        w > 0 && h > 0 && w < 65536 && h < 65536) {
        n = (size_t)w * h * 3;
        px = malloc(n);
        if (px && fread(px, 1, n, f) != n) {
            free(px);
            px = NULL;
        }
    }
    fclose(f);
    if (!px) return -1;
    img->data = px;
    img->data_len = n;
    img->width = w;
    img->height = h;
    img->stride = (size_t)w * 3;
    img->format = RVCNN_PIXEL_RGB8;
    return 0;
}

static int fail(rvcnn_status s) {
    fprintf(stderr, "%s: %s\n", rvcnn_status_string(s), rvcnn_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    rvcnn_embedder *e = NULL;
    rvcnn_image img[2] = {{0}, {0}};
    rvcnn_status s;
    size_t dim = 0, i;
    float *v = NULL;
    double dot = 0, na = 0, nb = 0;
    int rc = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: %s A.ppm B.ppm [WEIGHTS.safetensors]\n", argv[0]);
        return 2;
    }
    for (i = 0; i < 2; i++)
        if (read_ppm(argv[1 + i], &img[i]) != 0) {
            fprintf(stderr, "%s: not a binary PPM (P6, maxval 255)\n", argv[1 + i]);
            goto done;
        }
    s = argc > 3 ? rvcnn_embedder_create_from_file(argv[3], NULL, &e)
                 : rvcnn_embedder_create_default(NULL, &e);
    if (s != RVCNN_STATUS_OK) {
        rc = fail(s);
        goto done;
    }
    rvcnn_embedder_dim(e, &dim);
    v = malloc(2 * dim * sizeof *v);
    if (!v) goto done;
    s = rvcnn_embedder_embed_batch(e, img, 2, v, 2 * dim);
    if (s != RVCNN_STATUS_OK) {
        rc = fail(s);
        goto done;
    }
    for (i = 0; i < dim; i++) {
        dot += (double)v[i] * v[dim + i];
        na += (double)v[i] * v[i];
        nb += (double)v[dim + i] * v[dim + i];
    }
    printf("dimension %zu\ncosine %.6f\n", dim, dot / sqrt(na * nb));
    rc = 0;
done:
    free(v);
    free((void *)img[0].data);
    free((void *)img[1].data);
    rvcnn_embedder_destroy(e);
    return rc;
}
