//! Operators never allocate when run: a counting global allocator is armed around `run` calls
//! of every operator (built from the best table) and must see zero allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::{Activation, KernelTable};
use ruvector_cnn_tests::values;

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates to the system allocator; the bookkeeping touches only const-initialised
// thread-locals (no allocation, no re-entrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn run_never_allocates() {
    let t = KernelTable::best();
    let shape = Nhwc::new(2, 14, 14, 40);
    let x = values(1, shape.len().unwrap(), 1.0);
    let w = values(2, 120 * 40 * 9, 0.2);
    let b = values(3, 120, 0.2);
    let r = values(4, shape.len().unwrap() * 3, 0.2);
    let mut y = vec![0.0; 2 * 14 * 14 * 120];
    let pw = Pointwise::new(
        &PointwiseDesc {
            cin: 40,
            cout: 120,
            weights: &w[..4800],
            bias: Some(&b),
            activation: Activation::Hswish,
            residual: false,
        },
        t,
    )
    .unwrap();
    let pr = Pointwise::new(
        &PointwiseDesc {
            cin: 40,
            cout: 120,
            weights: &w[..4800],
            bias: None,
            activation: Activation::Linear,
            residual: true,
        },
        t,
    )
    .unwrap();
    let dw = DepthwiseConv2d::new(
        &DepthwiseDesc {
            channels: 40,
            kernel: 5,
            stride: 2,
            padding: Padding::same(2),
            weights: &w[..1000],
            bias: Some(&b[..40]),
            activation: Activation::Hswish,
        },
        t,
    )
    .unwrap();
    let conv = |algorithm| {
        Conv2d::new(
            &Conv2dDesc {
                cin: 40,
                cout: 120,
                kernel: 3,
                stride: 1,
                padding: Padding::same(1),
                weights: &w,
                bias: Some(&b),
                activation: Activation::Relu,
                residual: true,
                algorithm,
            },
            t,
        )
        .unwrap()
    };
    let (cv, wino) = (conv(ConvAlgorithm::Direct), conv(ConvAlgorithm::Winograd));
    assert_eq!(wino.algorithm(), ConvAlgorithm::Winograd);
    let mut conv_ws = vec![0.0; wino.workspace_len()];
    let fc = Linear::new(
        &LinearDesc {
            in_features: 40,
            out_features: 120,
            weights: &w[..4800],
            bias: Some(&b),
            activation: Activation::Relu,
        },
        t,
    )
    .unwrap();
    let ones = vec![1.0; 40];
    let bn = BatchNorm::new(
        &BatchNormDesc {
            channels: 40,
            gamma: &ones,
            beta: &b[..40],
            mean: &b[..40],
            var: &ones,
            eps: 1e-3,
            activation: Activation::Hswish,
        },
        t,
    )
    .unwrap();
    let act = Elementwise::new(Activation::Hsigmoid, t).unwrap();
    let pool = Pool::new(
        &PoolDesc {
            kind: PoolKind::Max,
            channels: 40,
            kernel: (3, 3),
            stride: (2, 2),
            padding: Padding::same(1),
        },
        t,
    )
    .unwrap();
    let gap = GlobalAvgPool::new(40, t).unwrap();
    let se = SqueezeExcite::new(
        &SqueezeExciteDesc {
            channels: 40,
            squeeze: 16,
            fc1_weights: &w[..640],
            fc1_bias: None,
            fc2_weights: &w[..640],
            fc2_bias: None,
            inner: Activation::Relu,
            gate: Activation::Hsigmoid,
        },
        t,
    )
    .unwrap();
    let mut ws = vec![0.0; se.workspace_len()];
    let mut z = x.clone();
    let n = allocations(|| {
        pw.run(shape, &x, &mut y, None).unwrap();
        pr.run(shape, &x, &mut y, Some(&r)).unwrap();
        dw.run(shape, &x, &mut y).unwrap();
        cv.run(shape, &x, &mut y, Some(&r), &mut []).unwrap();
        wino.run(shape, &x, &mut y, Some(&r), &mut conv_ws).unwrap();
        fc.run(3, &x[..120], &mut y).unwrap();
        bn.run(shape, &x, &mut y).unwrap();
        bn.run_in_place(shape, &mut z).unwrap();
        act.run(&x, &mut y).unwrap();
        act.run_in_place(&mut z);
        pool.run(shape, &x, &mut y).unwrap();
        gap.run(shape, &x, &mut y).unwrap();
        se.run(shape, &x, &mut y, &mut ws).unwrap();
        se.run_in_place(shape, &mut z, &mut ws).unwrap();
    });
    assert_eq!(n, 0, "operators allocated {n} times while running");
    // The counter works: an allocation while armed is seen.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

#[test]
fn model_forward_and_embed_never_allocate_once_warm() {
    use ruvector_cnn_model::{
        Arch, Embedder, EmbedderOptions, ImageView, Network, Output, PixelFormat, Weights,
    };
    let w = Weights::random(Arch::MobileNetV3Small, 1.0, Some(10), 3).unwrap();
    let net = Network::new(Arch::MobileNetV3Small, 1.0, &w, t_best()).unwrap();
    let mut out = vec![0.0; 2 * 1024];
    // 320x256 runs `features.2` band by band (its expansion is 80x64x72).
    for shape in [Nhwc::new(2, 96, 80, 3), Nhwc::new(1, 320, 256, 3)] {
        let x = values(5, shape.len().unwrap(), 1.0);
        let mut ws = net.workspace(shape).unwrap();
        for output in Output::ALL {
            let n = allocations(|| {
                net.forward(shape, &x, output, &mut out, &mut ws).unwrap();
            });
            assert_eq!(n, 0, "forward ({output}, {shape:?}) allocated {n} times");
        }
    }
    let shape = Nhwc::new(2, 96, 80, 3);
    let x = values(5, shape.len().unwrap(), 1.0);
    let mut ws = net.workspace(shape).unwrap();
    // Split over a pool: still nothing on the calling thread (the pool's jobs are on the stack).
    let mut net = net;
    net.set_threads(2).unwrap();
    net.forward(shape, &x, Output::Logits, &mut out, &mut ws)
        .unwrap();
    let n = allocations(|| {
        net.forward(shape, &x, Output::Logits, &mut out, &mut ws)
            .unwrap();
    });
    assert_eq!(n, 0, "forward on 2 threads allocated {n} times");
    net.set_threads(1).unwrap();
    // The embedder: the first call sizes its session; later calls reuse it.
    let e = Embedder::new(net, EmbedderOptions::default()).unwrap();
    let pixels: Vec<u8> = (0..300 * 200 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let img = ImageView::packed(&pixels, 300, 200, PixelFormat::Rgb8).unwrap();
    let mut v = vec![0.0; e.dim()];
    e.embed_into(&img, &mut v).unwrap();
    let n = allocations(|| e.embed_into(&img, &mut v).unwrap());
    assert_eq!(n, 0, "a warm embed_into allocated {n} times");
}

fn t_best() -> &'static KernelTable {
    KernelTable::best()
}

#[test]
fn resnet_forward_never_allocates_once_warm() {
    use ruvector_cnn_model::{Output, ResNet, ResNetOptions, Weights};
    let options = ResNetOptions {
        width: 16,
        ..Default::default()
    };
    let w = Weights::random_resnet(&options, Some(10), 5).unwrap();
    let net = ResNet::new(&w, options, t_best()).unwrap();
    let shape = Nhwc::new(2, 67, 45, 3);
    let x = values(6, shape.len().unwrap(), 1.0);
    let mut ws = Default::default();
    let mut out = vec![0.0; 2 * 128];
    net.forward(shape, &x, Output::Pooled, &mut out, &mut ws)
        .unwrap();
    for output in [Output::Pooled, Output::Logits] {
        let n = allocations(|| {
            net.forward(shape, &x, output, &mut out, &mut ws).unwrap();
        });
        assert_eq!(n, 0, "ResNet forward ({output}) allocated {n} times");
    }
}
