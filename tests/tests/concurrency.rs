//! One embedder shared by many threads gives exactly the sequential results: images of mixed
//! sizes (1x1 to 300 px, odd shapes) and pixel formats, `embed` and `embed_batch` (on the
//! embedder's own pool) interleaved from 8 threads for a bounded time
//! (`RVCNN_STRESS_SECS`, default 2 s; longer runs and ThreadSanitizer: `tools/tsan.sh`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ruvector_cnn_kernels::testkit::Rng;
use ruvector_cnn_model::{Embedder, EmbedderConfig, ImageView, PixelFormat};
use ruvector_cnn_tests::load_fixture;

struct Image {
    data: Vec<u8>,
    width: usize,
    height: usize,
    format: PixelFormat,
}

impl Image {
    fn view(&self) -> ImageView<'_> {
        ImageView::packed(&self.data, self.width, self.height, self.format).unwrap()
    }
}

fn images() -> Vec<Image> {
    let mut rng = Rng::new(12);
    let sizes = [
        (1, 1),
        (3, 300),
        (97, 131),
        (64, 64),
        (300, 7),
        (50, 33),
        (128, 96),
    ];
    let formats = [
        PixelFormat::Rgb8,
        PixelFormat::Rgba8,
        PixelFormat::Gray8,
        PixelFormat::Bgr8,
        PixelFormat::Bgra8,
    ];
    sizes
        .iter()
        .enumerate()
        .map(|(k, &(width, height))| {
            let format = formats[k % formats.len()];
            let data = (0..width * height * format.bytes())
                .map(|_| (rng.next_u64() >> 56) as u8)
                .collect();
            Image {
                data,
                width,
                height,
                format,
            }
        })
        .collect()
}

fn embedder(threads: usize) -> Embedder {
    EmbedderConfig {
        weights: Some(load_fixture("mobilenet_v3_small.safetensors")),
        input_size: Some(96),
        threads: Some(threads),
        ..Default::default()
    }
    .build()
    .unwrap()
}

#[test]
fn shared_embedder_matches_sequential_results_under_stress() {
    let images = images();
    let e = embedder(2);
    let expected: Vec<Vec<f32>> = images.iter().map(|i| e.embed(&i.view()).unwrap()).collect();
    let secs: f64 = std::env::var("RVCNN_STRESS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let calls = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (e, images, expected, calls) = (&e, &images, &expected, &calls);
            s.spawn(move || {
                let mut rng = Rng::new(t);
                while Instant::now() < deadline {
                    let k = (rng.next_u64() % images.len() as u64) as usize;
                    if t % 4 == 3 {
                        // A batch of three (wrapping), on the embedder's pool.
                        let idx = [k, (k + 1) % images.len(), (k + 2) % images.len()];
                        let views: Vec<ImageView<'_>> =
                            idx.iter().map(|&i| images[i].view()).collect();
                        let got = e.embed_batch(&views).unwrap();
                        for (i, v) in idx.iter().zip(&got) {
                            assert_eq!(v, &expected[*i], "thread {t}: batch image {i} differs");
                        }
                    } else {
                        let v = e.embed(&images[k].view()).unwrap();
                        assert_eq!(v, expected[k], "thread {t}: image {k} differs");
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let n = calls.load(Ordering::Relaxed);
    eprintln!(
        "concurrency: {n} calls from 8 threads in {secs} s, all equal to the sequential results"
    );
    assert!(n >= 8, "only {n} calls ran");
}

#[test]
fn batches_on_one_and_two_threads_agree() {
    let images = images();
    let views: Vec<ImageView<'_>> = images.iter().map(Image::view).collect();
    let one = embedder(1).embed_batch(&views).unwrap();
    let two = embedder(2).embed_batch(&views).unwrap();
    assert_eq!(one, two);
}
