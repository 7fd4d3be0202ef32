/* C tests of the operator objects (rvcnn_op_*): each kind against a naive C reference on small
 * odd shapes, plus error paths and the ISA cap. Run from tests/tests/c_api.rs. */
#include "ruvector_cnn.h"
#include "check.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(rvcnn_shape) == 4 * sizeof(size_t), "rvcnn_shape layout");
_Static_assert(offsetof(rvcnn_conv2d_desc, cin) == 8, "conv2d desc layout");
_Static_assert(offsetof(rvcnn_batchnorm_desc, eps) == 48, "batchnorm desc layout");

static float val(int i, int seed) { return (float)((i * 37 + seed * 101) % 97) / 48.5f - 1.0f; }

static void fill(float *p, int n, int seed) {
    int i;
    for (i = 0; i < n; i++) p[i] = val(i, seed);
}

static float act(float x, int a) {
    switch (a) {
    case RVCNN_ACT_RELU: return x > 0 ? x : 0;
    case RVCNN_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case RVCNN_ACT_HSWISH: return x * act(x + 3, RVCNN_ACT_RELU6) / 6;
    case RVCNN_ACT_HSIGMOID: return act(x + 3, RVCNN_ACT_RELU6) / 6;
    default: return x;
    }
}

/* max |a - b| <= 1e-4 * max(1, max |b|) */
static int close_to(const float *a, const float *b, int n) {
    float scale = 1, err = 0;
    int i;
    for (i = 0; i < n; i++) {
        if (fabsf(b[i]) > scale) scale = fabsf(b[i]);
        if (!(fabsf(a[i] - b[i]) <= err)) err = fabsf(a[i] - b[i]);
    }
    if (!(err <= 1e-4f * scale)) fprintf(stderr, "max error %g (scale %g)\n", err, scale);
    return err <= 1e-4f * scale;
}

static int run(rvcnn_op *op, rvcnn_shape s, const float *x, int xn, float *y, int yn) {
    return rvcnn_op_run(op, &s, x, (size_t)xn, y, (size_t)yn, NULL, 0, NULL, 0) == RVCNN_STATUS_OK;
}

/* Dense or depthwise KxK conv reference, NHWC, OIHW / [C][K][K] weights. */
static void conv_ref(const float *x, int h, int w, int cin, const float *wt, const float *b,
                     int cout, int k, int s, int pad, int dw, int a, float *y, int oh, int ow) {
    int oy, ox, o, ky, kx, i;
    for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++)
            for (o = 0; o < cout; o++) {
                double acc = b ? b[o] : 0;
                for (ky = 0; ky < k; ky++)
                    for (kx = 0; kx < k; kx++) {
                        int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        if (dw) {
                            acc += (double)x[(iy * w + ix) * cin + o] * wt[(o * k + ky) * k + kx];
                        } else {
                            for (i = 0; i < cin; i++)
                                acc += (double)x[(iy * w + ix) * cin + i] *
                                       wt[((o * cin + i) * k + ky) * k + kx];
                        }
                    }
                y[(oy * ow + ox) * cout + o] = act((float)acc, a);
            }
}

static void test_conv(void) {
    enum { H = 7, W = 9, CI = 3, CO = 5, OH = 4, OW = 5 };
    float x[H * W * CI], wt[CO * CI * 9], b[CO], y[OH * OW * CO], ref[OH * OW * CO];
    rvcnn_conv2d_desc d;
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, H, W, CI}, o;
    fill(x, H * W * CI, 1);
    fill(wt, CO * CI * 9, 2);
    fill(b, CO, 3);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.activation = RVCNN_ACT_HSWISH;
    d.cin = CI;
    d.cout = CO;
    d.kernel = 3;
    d.stride = 2;
    d.padding.top = d.padding.left = d.padding.bottom = d.padding.right = 1;
    d.weights = wt;
    d.weights_len = CO * CI * 9;
    d.bias = b;
    d.bias_len = CO;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    {
        uint32_t algo = 99;
        CHECK(rvcnn_op_conv2d_algorithm(op, &algo) == RVCNN_STATUS_OK && algo == RVCNN_CONV_DIRECT);
    }
    CHECK(rvcnn_op_output_shape(op, &s, &o) == RVCNN_STATUS_OK && o.h == OH && o.w == OW && o.c == CO);
    CHECK(run(op, s, x, H * W * CI, y, OH * OW * CO));
    conv_ref(x, H, W, CI, wt, b, CO, 3, 2, 1, 0, RVCNN_ACT_HSWISH, ref, OH, OW);
    CHECK(close_to(y, ref, OH * OW * CO));
    /* Errors: short output (untouched), NULLs, bad shapes. */
    y[0] = 123.0f;
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, OH * OW * CO - 1, NULL, 0, NULL, 0) == RVCNN_STATUS_BUFFER_TOO_SMALL);
    CHECK(y[0] == 123.0f);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI - 1, y, OH * OW * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_BUFFER_TOO_SMALL);
    CHECK(rvcnn_op_run(NULL, &s, x, H * W * CI, y, OH * OW * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, NULL, x, H * W * CI, y, OH * OW * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, &s, NULL, H * W * CI, y, OH * OW * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, NULL, OH * OW * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, OH * OW * CO, x, 1, NULL, 0) == RVCNN_STATUS_INVALID_ARGUMENT);
    s.c = 4;
    CHECK(rvcnn_op_output_shape(op, &s, &o) == RVCNN_STATUS_INVALID_ARGUMENT);
    s.c = CI;
    s.h = (size_t)-1;
    s.w = (size_t)-1;
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, OH * OW * CO, NULL, 0, NULL, 0) != RVCNN_STATUS_OK);
    rvcnn_op_destroy(op);
    /* Bad descriptors. */
    op = NULL;
    d.algorithm = RVCNN_CONV_WINOGRAD; /* stride 2 */
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_UNSUPPORTED);
    d.algorithm = 9;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_INVALID_ARGUMENT);
    d.algorithm = RVCNN_CONV_DIRECT;
    d.kernel = 7;
    d.weights_len = CO * CI * 49;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_UNSUPPORTED);
    d.algorithm = RVCNN_CONV_AUTO;
    d.kernel = 3;
    d.weights_len = CO * CI * 9;
    d.weights_len--;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_INVALID_ARGUMENT);
    d.weights_len++;
    d.activation = 9;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_INVALID_ARGUMENT);
    d.activation = 0;
    d.struct_size = 4;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_INVALID_ARGUMENT);
    d.struct_size = sizeof d;
    d.weights = NULL;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_conv2d(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_conv2d(&d, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(op == NULL);
}

/* Winograd (stride 1, residual + relu, workspace) and im2col (5x5) against the reference. */
static void test_conv_algorithms(void) {
    enum { H = 6, W = 5, CI = 4, CO = 6 };
    float x[H * W * CI], wt[CO * CI * 25], b[CO], r[H * W * CO], y[H * W * CO], ref[H * W * CO];
    float *ws;
    size_t ws_len = 0;
    uint32_t algo = 0;
    int i;
    rvcnn_conv2d_desc d;
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, H, W, CI};
    fill(x, H * W * CI, 4);
    fill(wt, CO * CI * 25, 5);
    fill(b, CO, 6);
    fill(r, H * W * CO, 7);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.activation = RVCNN_ACT_RELU;
    d.cin = CI;
    d.cout = CO;
    d.kernel = 3;
    d.stride = 1;
    d.padding.top = d.padding.left = d.padding.bottom = d.padding.right = 1;
    d.weights = wt;
    d.weights_len = CO * CI * 9;
    d.bias = b;
    d.bias_len = CO;
    d.algorithm = RVCNN_CONV_WINOGRAD;
    d.residual = 1;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    CHECK(rvcnn_op_conv2d_algorithm(op, &algo) == RVCNN_STATUS_OK && algo == RVCNN_CONV_WINOGRAD);
    CHECK(rvcnn_op_workspace_size(op, &ws_len) == RVCNN_STATUS_OK && ws_len > 0);
    ws = (float *)malloc(ws_len * sizeof *ws);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, H * W * CO, r, H * W * CO, NULL, 0) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, H * W * CO, NULL, 0, ws, ws_len) == RVCNN_STATUS_INVALID_ARGUMENT);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, H * W * CO, r, H * W * CO, ws, ws_len) == RVCNN_STATUS_OK);
    conv_ref(x, H, W, CI, wt, b, CO, 3, 1, 1, 0, RVCNN_ACT_LINEAR, ref, H, W);
    for (i = 0; i < H * W * CO; i++) ref[i] = act(ref[i] + r[i], RVCNN_ACT_RELU);
    CHECK(close_to(y, ref, H * W * CO));
    rvcnn_op_destroy(op);
    free(ws);
    /* 5x5 by im2col (the default for windows other than 3x3), no residual. */
    op = NULL;
    d.kernel = 5;
    d.padding.top = d.padding.left = d.padding.bottom = d.padding.right = 2;
    d.weights_len = CO * CI * 25;
    d.algorithm = RVCNN_CONV_AUTO;
    d.residual = 0;
    CHECK(rvcnn_op_create_conv2d(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    CHECK(rvcnn_op_conv2d_algorithm(op, &algo) == RVCNN_STATUS_OK && algo == RVCNN_CONV_IM2COL);
    CHECK(rvcnn_op_workspace_size(op, &ws_len) == RVCNN_STATUS_OK && ws_len > 0);
    ws = (float *)malloc(ws_len * sizeof *ws);
    CHECK(rvcnn_op_run(op, &s, x, H * W * CI, y, H * W * CO, NULL, 0, ws, ws_len) == RVCNN_STATUS_OK);
    conv_ref(x, H, W, CI, wt, b, CO, 5, 1, 2, 0, RVCNN_ACT_RELU, ref, H, W);
    CHECK(close_to(y, ref, H * W * CO));
    rvcnn_op_destroy(op);
    free(ws);
}

static void test_depthwise(void) {
    enum { H = 11, W = 6, C = 19, K = 5, OH = 6, OW = 3 };
    float x[H * W * C], wt[C * K * K], b[C], y[OH * OW * C], ref[OH * OW * C];
    rvcnn_depthwise_desc d;
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, H, W, C};
    fill(x, H * W * C, 4);
    fill(wt, C * K * K, 5);
    fill(b, C, 6);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.activation = RVCNN_ACT_RELU6;
    d.channels = C;
    d.kernel = K;
    d.stride = 2;
    d.padding.top = d.padding.left = d.padding.bottom = d.padding.right = 2;
    d.weights = wt;
    d.weights_len = C * K * K;
    d.bias = b;
    d.bias_len = C;
    CHECK(rvcnn_op_create_depthwise(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    CHECK(run(op, s, x, H * W * C, y, OH * OW * C));
    conv_ref(x, H, W, C, wt, b, C, K, 2, 2, 1, RVCNN_ACT_RELU6, ref, OH, OW);
    CHECK(close_to(y, ref, OH * OW * C));
    rvcnn_op_destroy(op);
}

static void test_pointwise_and_linear(void) {
    enum { P = 13, CI = 7, CO = 9 };
    float x[P * CI], wt[CO * CI], b[CO], r[P * CO], y[P * CO], ref[P * CO];
    rvcnn_pointwise_desc d;
    rvcnn_linear_desc l;
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, 1, P, CI};
    int p, o, i;
    fill(x, P * CI, 7);
    fill(wt, CO * CI, 8);
    fill(b, CO, 9);
    fill(r, P * CO, 10);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.activation = RVCNN_ACT_LINEAR;
    d.cin = CI;
    d.cout = CO;
    d.residual = 1;
    d.weights = wt;
    d.weights_len = CO * CI;
    d.bias = b;
    d.bias_len = CO;
    CHECK(rvcnn_op_create_pointwise(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    for (p = 0; p < P; p++)
        for (o = 0; o < CO; o++) {
            double acc = b[o] + r[p * CO + o];
            for (i = 0; i < CI; i++) acc += (double)x[p * CI + i] * wt[o * CI + i];
            ref[p * CO + o] = (float)acc;
        }
    CHECK(rvcnn_op_run(op, &s, x, P * CI, y, P * CO, r, P * CO, NULL, 0) == RVCNN_STATUS_OK);
    CHECK(close_to(y, ref, P * CO));
    CHECK(rvcnn_op_run(op, &s, x, P * CI, y, P * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_INVALID_ARGUMENT);
    CHECK(rvcnn_op_run(op, &s, x, P * CI, y, P * CO, r, P * CO - 1, NULL, 0) != RVCNN_STATUS_OK);
    rvcnn_op_destroy(op);

    /* The same weights as a Linear layer over 13 vectors (relu). */
    memset(&l, 0, sizeof l);
    l.struct_size = sizeof l;
    l.activation = RVCNN_ACT_RELU;
    l.in_features = CI;
    l.out_features = CO;
    l.weights = wt;
    l.weights_len = CO * CI;
    l.bias = b;
    l.bias_len = CO;
    op = NULL;
    CHECK(rvcnn_op_create_linear(&l, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    for (i = 0; i < P * CO; i++) ref[i] = act(ref[i] - r[i], RVCNN_ACT_RELU);
    s.n = P;
    s.h = 1;
    s.w = 1;
    CHECK(run(op, s, x, P * CI, y, P * CO));
    CHECK(close_to(y, ref, P * CO));
    s.c = CI + 1;
    CHECK(rvcnn_op_run(op, &s, x, P * CI, y, P * CO, NULL, 0, NULL, 0) == RVCNN_STATUS_INVALID_ARGUMENT);
    rvcnn_op_destroy(op);
}

static void test_bn_act_pool(void) {
    enum { H = 5, W = 7, C = 6 };
    float x[H * W * C], y[H * W * C], ref[H * W * C], g[C], be[C], m[C], v[C];
    rvcnn_batchnorm_desc d;
    rvcnn_pool_desc pd;
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, H, W, C}, o;
    const char *id = NULL;
    int i, c, oy, ox, ky, kx;
    fill(x, H * W * C, 11);
    fill(g, C, 12);
    fill(be, C, 13);
    fill(m, C, 14);
    for (c = 0; c < C; c++) v[c] = 0.5f + (float)c;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.activation = RVCNN_ACT_HSWISH;
    d.channels = C;
    d.gamma = g;
    d.beta = be;
    d.mean = m;
    d.var = v;
    d.eps = 1e-3f;
    CHECK(rvcnn_op_create_batchnorm(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    for (i = 0; i < H * W * C; i++) {
        c = i % C;
        ref[i] = act((float)((x[i] - m[c]) / sqrt(v[c] + 1e-3) * g[c] + be[c]), RVCNN_ACT_HSWISH);
    }
    CHECK(run(op, s, x, H * W * C, y, H * W * C));
    CHECK(close_to(y, ref, H * W * C));
    rvcnn_op_destroy(op);
    d.activation = RVCNN_ACT_HSIGMOID; /* no fused batch-norm kernel for it */
    CHECK(rvcnn_op_create_batchnorm(&d, &op) == RVCNN_STATUS_UNSUPPORTED);
    d.activation = RVCNN_ACT_HSWISH;
    v[2] = -1.0f;
    op = NULL;
    CHECK(rvcnn_op_create_batchnorm(&d, &op) == RVCNN_STATUS_INVALID_ARGUMENT);
    d.var = NULL;
    CHECK(rvcnn_op_create_batchnorm(&d, &op) == RVCNN_STATUS_NULL_POINTER);

    CHECK(rvcnn_op_create_activation(RVCNN_ACT_HSWISH, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    for (i = 0; i < H * W * C; i++) ref[i] = act(x[i] * 4, RVCNN_ACT_HSWISH);
    for (i = 0; i < H * W * C; i++) y[i] = x[i] * 4;
    CHECK(run(op, s, y, H * W * C, ref + 0, 0) == 0); /* output too short */
    {
        float z[H * W * C];
        CHECK(run(op, s, y, H * W * C, z, H * W * C));
        for (i = 0; i < H * W * C; i++) y[i] = z[i];
        for (i = 0; i < H * W * C; i++) ref[i] = act(x[i] * 4, RVCNN_ACT_HSWISH);
        CHECK(close_to(y, ref, H * W * C));
    }
    rvcnn_op_destroy(op);
    CHECK(rvcnn_op_create_activation(77, &op) == RVCNN_STATUS_INVALID_ARGUMENT);

    /* 3x3 stride-2 max pooling with padding 1. */
    memset(&pd, 0, sizeof pd);
    pd.struct_size = sizeof pd;
    pd.kind = RVCNN_POOL_MAX;
    pd.channels = C;
    pd.kernel_h = pd.kernel_w = 3;
    pd.stride_h = pd.stride_w = 2;
    pd.padding.top = pd.padding.left = pd.padding.bottom = pd.padding.right = 1;
    op = NULL;
    CHECK(rvcnn_op_create_pool(&pd, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    CHECK(rvcnn_op_output_shape(op, &s, &o) == RVCNN_STATUS_OK && o.h == 3 && o.w == 4);
    for (oy = 0; oy < 3; oy++)
        for (ox = 0; ox < 4; ox++)
            for (c = 0; c < C; c++) {
                float best = -INFINITY;
                for (ky = 0; ky < 3; ky++)
                    for (kx = 0; kx < 3; kx++) {
                        int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W && x[(iy * W + ix) * C + c] > best)
                            best = x[(iy * W + ix) * C + c];
                    }
                ref[(oy * 4 + ox) * C + c] = best;
            }
    CHECK(run(op, s, x, H * W * C, y, 12 * C));
    CHECK(close_to(y, ref, 12 * C));
    CHECK(rvcnn_op_kernel_id(op, &id) == RVCNN_STATUS_OK && id && strstr(id, "maxpool"));
    rvcnn_op_destroy(op);
    pd.kind = 9;
    CHECK(rvcnn_op_create_pool(&pd, &op) == RVCNN_STATUS_INVALID_ARGUMENT);

    /* Global average pooling over a batch of 2. */
    CHECK(rvcnn_op_create_global_avgpool(C, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    s.n = 1;
    for (c = 0; c < C; c++) {
        double sum = 0;
        for (i = 0; i < H * W; i++) sum += x[i * C + c];
        ref[c] = (float)(sum / (H * W));
    }
    CHECK(run(op, s, x, H * W * C, y, C));
    CHECK(close_to(y, ref, C));
    rvcnn_op_destroy(op);
    CHECK(rvcnn_op_create_global_avgpool(0, &op) == RVCNN_STATUS_INVALID_ARGUMENT);
}

static void test_se(void) {
    enum { P = 10, C = 12, Q = 4 };
    float x[P * C], w1[Q * C], b1[Q], w2[C * Q], b2[C], y[P * C], ref[P * C], ws[64];
    double mean[C], hid[Q], gate[C];
    rvcnn_se_desc d;
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, 2, 5, C};
    size_t need = 0;
    int p, c, q;
    fill(x, P * C, 20);
    fill(w1, Q * C, 21);
    fill(b1, Q, 22);
    fill(w2, C * Q, 23);
    fill(b2, C, 24);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.inner = RVCNN_ACT_RELU;
    d.gate = RVCNN_ACT_HSIGMOID;
    d.channels = C;
    d.squeeze = Q;
    d.fc1_weights = w1;
    d.fc1_bias = b1;
    d.fc2_weights = w2;
    d.fc2_bias = b2;
    CHECK(rvcnn_op_create_se(&d, &op) == RVCNN_STATUS_OK);
    if (!op) return;
    CHECK(rvcnn_op_workspace_size(op, &need) == RVCNN_STATUS_OK && need > 0 && need <= 64);
    for (c = 0; c < C; c++) {
        mean[c] = 0;
        for (p = 0; p < P; p++) mean[c] += x[p * C + c];
        mean[c] /= P;
    }
    for (q = 0; q < Q; q++) {
        hid[q] = b1[q];
        for (c = 0; c < C; c++) hid[q] += mean[c] * w1[q * C + c];
        hid[q] = act((float)hid[q], RVCNN_ACT_RELU);
    }
    for (c = 0; c < C; c++) {
        gate[c] = b2[c];
        for (q = 0; q < Q; q++) gate[c] += hid[q] * w2[c * Q + q];
        gate[c] = act((float)gate[c], RVCNN_ACT_HSIGMOID);
    }
    for (p = 0; p < P; p++)
        for (c = 0; c < C; c++) ref[p * C + c] = (float)(x[p * C + c] * gate[c]);
    CHECK(rvcnn_op_run(op, &s, x, P * C, y, P * C, NULL, 0, ws, need) == RVCNN_STATUS_OK);
    CHECK(close_to(y, ref, P * C));
    CHECK(rvcnn_op_run(op, &s, x, P * C, y, P * C, NULL, 0, NULL, 0) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, &s, x, P * C, y, P * C, NULL, 0, ws, need - 1) == RVCNN_STATUS_BUFFER_TOO_SMALL);
    CHECK(rvcnn_op_workspace_size(NULL, &need) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_workspace_size(op, NULL) == RVCNN_STATUS_NULL_POINTER);
    rvcnn_op_destroy(op);
}

static void test_isa_cap(void) {
    rvcnn_op *op = NULL;
    const char *id = NULL, *active = NULL;
    CHECK(rvcnn_isa_cap("scalar") == RVCNN_STATUS_OK);
    CHECK(rvcnn_isa_active(&active) == RVCNN_STATUS_OK && strcmp(active, "scalar") == 0);
    CHECK(rvcnn_op_create_activation(RVCNN_ACT_RELU, &op) == RVCNN_STATUS_OK);
    CHECK(op && rvcnn_op_kernel_id(op, &id) == RVCNN_STATUS_OK && strncmp(id, "scalar/", 7) == 0);
    rvcnn_op_destroy(op);
    CHECK(rvcnn_isa_cap("sse9") == RVCNN_STATUS_INVALID_ARGUMENT);
    CHECK(rvcnn_isa_cap(NULL) == RVCNN_STATUS_OK);
    CHECK(rvcnn_op_kernel_id(NULL, &id) == RVCNN_STATUS_NULL_POINTER);
    rvcnn_op_destroy(NULL);
}

/* Every create function rejects a NULL descriptor and a NULL out-pointer. */
static void test_null_arguments(void) {
    rvcnn_op *op = NULL;
    rvcnn_shape s = {1, 1, 1, 1}, o;
    float x = 0, y = 1;
    CHECK(rvcnn_op_create_conv2d(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_depthwise(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_pointwise(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_linear(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_batchnorm(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_pool(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_se(NULL, &op) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_activation(RVCNN_ACT_RELU, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_create_global_avgpool(3, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(op == NULL);
    CHECK(rvcnn_op_create_activation(RVCNN_ACT_RELU, &op) == RVCNN_STATUS_OK);
    CHECK(rvcnn_op_output_shape(NULL, &s, &o) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_output_shape(op, NULL, &o) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_output_shape(op, &s, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_kernel_id(op, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_op_run(op, &s, &x, 1, &y, 1, NULL, 0, NULL, 0) == RVCNN_STATUS_OK && y == 0);
    rvcnn_op_destroy(op);
}

int rvcnn_ctest_ops(void) {
    failures = 0;
    test_null_arguments();
    test_conv();
    test_conv_algorithms();
    test_depthwise();
    test_pointwise_and_linear();
    test_bn_act_pool();
    test_se();
    test_isa_cap();
    return failures;
}
