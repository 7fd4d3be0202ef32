//! The `rvcnn` binary end to end, with random-init weights (no download needed): embed to
//! .npy and .jsonl, search, eval, info, and a corrupt image that is skipped, not fatal.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rvcnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rvcnn"))
        .args(args)
        .env("RVCNN_CACHE_DIR", scratch("cache-empty"))
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rvcnn-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn images() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/images")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const MODEL: [&str; 4] = ["--model", "mobilenetv3-small", "--random-init", "7"];

#[test]
fn embed_search_and_skip_bad_files() {
    let dir = scratch("embed");
    for f in std::fs::read_dir(images()).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.join("broken.png"), b"not a png").unwrap();
    let npy = dir.join("out.npy");
    let out = rvcnn(
        &[
            &[
                "embed",
                dir.to_str().unwrap(),
                "--out",
                npy.to_str().unwrap(),
            ][..],
            &MODEL,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("skipping") && err.contains("broken.png"),
        "{err}"
    );
    assert!(err.contains("4 embeddings of dimension 576"), "{err}");
    let paths = std::fs::read_to_string(dir.join("out.npy.txt")).unwrap();
    assert_eq!(paths.lines().count(), 4);
    // 80-byte-aligned header + 4 x 576 float32.
    let len = std::fs::metadata(&npy).unwrap().len();
    assert_eq!(len, 128 + 4 * 576 * 4);

    let query = dir.join("chelsea.jpg");
    let out = rvcnn(
        &[
            &[
                "search",
                "--index",
                npy.to_str().unwrap(),
                "--query",
                query.to_str().unwrap(),
                "-k",
                "2",
            ][..],
            &MODEL,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = text(&out.stdout).lines().next().unwrap().to_string();
    assert!(
        first.starts_with("1\t1.0000\t") && first.ends_with("chelsea.jpg"),
        "{first}"
    );

    let out = rvcnn(&[&["embed", query.to_str().unwrap()][..], &MODEL].concat());
    assert!(out.status.success());
    let line = text(&out.stdout);
    assert!(
        line.starts_with("{\"path\":") && line.contains("\"embedding\":["),
        "{line}"
    );
}

#[test]
fn eval_reports_recall_for_model_and_pixels() {
    let dir = scratch("eval");
    let copy = |class: &str, file: &str, as_name: &str| {
        let c = dir.join(class);
        std::fs::create_dir_all(&c).unwrap();
        std::fs::copy(images().join(file), c.join(as_name)).unwrap();
    };
    copy("cat", "chelsea.jpg", "a.jpg");
    copy("cat", "chelsea.jpg", "b.jpg");
    copy("cup", "coffee.png", "a.png");
    copy("cup", "coffee.png", "b.png");
    let d = dir.to_str().unwrap();
    let out = rvcnn(&[&["eval", d][..], &MODEL].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Identical copies are each other's nearest neighbours.
    assert!(
        text(&out.stdout).starts_with("recall@1 1.0000 (4/4 queries, 4 images, 2 classes)"),
        "{}",
        text(&out.stdout)
    );
    let out = rvcnn(&["eval", d, "--baseline", "pixels"]);
    assert!(
        text(&out.stdout).starts_with("recall@1 1.0000"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn helpful_errors() {
    let out = rvcnn(&["embed", images().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("rvcnn fetch"),
        "{}",
        text(&out.stderr)
    );
    let out = rvcnn(&[
        "embed",
        images().to_str().unwrap(),
        "--model",
        "mobilenetv3-large",
    ]);
    assert!(
        text(&out.stderr).contains("no pretrained"),
        "{}",
        text(&out.stderr)
    );
    let out = rvcnn(&["embed", "/no/such/dir"]);
    assert!(!out.status.success());
    let out = rvcnn(
        &[
            &["embed", images().to_str().unwrap(), "--output", "logits"][..],
            &MODEL,
        ]
        .concat(),
    );
    assert!(
        text(&out.stderr).contains("without its classifier"),
        "{}",
        text(&out.stderr)
    );
    let out = rvcnn(&[&["info"][..], &MODEL].concat());
    assert!(out.status.success());
    let info = text(&out.stdout);
    assert!(
        info.contains("detected ISA") && info.contains("features.0"),
        "{info}"
    );
}

#[test]
fn quantize_report_save_and_embed_int8() {
    let dir = scratch("int8");
    let q = dir.join("q.safetensors");
    let v2 = [
        "--model",
        "mobilenetv2",
        "--random-init",
        "3",
        "--width",
        "0.35",
    ];
    let imgs = images();
    let out = rvcnn(
        &[
            &[
                "quantize",
                "--calib-images",
                imgs.to_str().unwrap(),
                "--report",
                "--out",
                q.to_str().unwrap(),
            ][..],
            &v2,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("features.1.dw") && report.contains("cosine(int8, f32)"),
        "{report}"
    );
    // The saved file embeds as INT8 without calibration images.
    let npy = dir.join("e.npy");
    let out = rvcnn(&[
        "embed",
        imgs.to_str().unwrap(),
        "--weights",
        q.to_str().unwrap(),
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/int8"), "{}", text(&out.stderr));
    // --int8 calibrates on the inputs, for MobileNetV2 and V3.
    for model in [&v2[..], &MODEL[..]] {
        let out = rvcnn(&[&["embed", imgs.to_str().unwrap(), "--int8"][..], model].concat());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("calibrating INT8"),
            "{}",
            text(&out.stderr)
        );
    }
    // Without a dot-product level (capped at scalar) INT8 is no faster than f32: said so.
    let out = rvcnn(
        &[
            &["embed", imgs.to_str().unwrap(), "--int8", "--isa", "scalar"][..],
            &v2[..],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no INT8 dot-product instructions"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn quantize_reports_on_held_out_images() {
    let imgs = images();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&imgs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg")))
        .collect();
    files.sort();
    let model = [&MODEL[..], &["--width", "0.75"]].concat();
    // Calibrated on one image, measured on all of them (the worst three named).
    let out = rvcnn(
        &[
            &[
                "quantize",
                "--calib-images",
                files[0].to_str().unwrap(),
                "--report",
                "--report-on",
                imgs.to_str().unwrap(),
                "--simulate",
                "default",
                "block=16,features.3.dw=f32",
            ][..],
            &model,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let count = format!("({} images)", files.len());
    assert!(report.contains(&count), "{report}");
    for what in [
        "int8",
        "simulated `default`",
        "simulated `block=16,features.3.dw=f32`",
    ] {
        assert!(report.contains(&format!("cosine({what}, f32)")), "{report}");
    }
    let int8_part = report.split("cosine(simulated").next().unwrap();
    let named = files
        .iter()
        .filter(|f| int8_part.contains(f.file_name().unwrap().to_str().unwrap()))
        .count();
    assert_eq!(named, files.len().min(3), "{report}");
    // --report-on needs --report.
    let out = rvcnn(
        &[
            &[
                "quantize",
                "--calib-images",
                files[0].to_str().unwrap(),
                "--report-on",
                imgs.to_str().unwrap(),
            ][..],
            &model,
        ]
        .concat(),
    );
    assert!(!out.status.success());
    // A bad width is refused before calibrating.
    let out = rvcnn(
        &[
            &[
                "quantize",
                "--calib-images",
                files[0].to_str().unwrap(),
                "--report",
                "--simulate",
                "dw=9000",
            ][..],
            &model,
        ]
        .concat(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("BITS is 2 to 16"),
        "{}",
        text(&out.stderr)
    );
}

/// Writes a small IDX image/label pair: `classes × per` 12x12 gray images, each class a
/// different stripe pattern plus noise.
fn idx_set(dir: &std::path::Path, classes: u8, per: usize) -> (PathBuf, PathBuf) {
    let (n, side) = (usize::from(classes) * per, 12usize);
    let mut images = vec![0, 0, 8, 3];
    for d in [n, side, side] {
        images.extend((d as u32).to_be_bytes());
    }
    let mut labels = vec![0, 0, 8, 1];
    labels.extend((n as u32).to_be_bytes());
    let mut seed = 7u32;
    for i in 0..n {
        let c = (i % usize::from(classes)) as u8;
        labels.push(c);
        for y in 0..side {
            for x in 0..side {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let stripe = if (x * usize::from(c + 1) / 3 + y) % 2 == 0 {
                    200
                } else {
                    40
                };
                images.push((stripe + (seed >> 28) as usize) as u8);
            }
        }
    }
    let (ip, lp) = (dir.join("images-idx3-ubyte"), dir.join("labels-idx1-ubyte"));
    std::fs::write(&ip, images).unwrap();
    std::fs::write(&lp, labels).unwrap();
    (ip, lp)
}

#[test]
fn train_a_head_then_eval_and_embed_with_it() {
    let dir = scratch("train");
    let (idx, labels) = idx_set(&dir, 4, 6);
    let s = |x: PathBuf| x.to_str().unwrap().to_string();
    let (idx, labels) = (s(idx), s(labels));
    let (head, cache, png) = (
        s(dir.join("head.safetensors")),
        s(dir.join("emb.npy")),
        s(dir.join("loss.png")),
    );
    let jsonl = s(dir.join("e.jsonl"));
    let photos = s(images());
    let small = ["--size", "32"];
    let data = ["--labels", labels.as_str()];
    let train = |extra: &[&str]| {
        let args = [
            &[
                "train",
                idx.as_str(),
                "--out",
                head.as_str(),
                "--cache",
                cache.as_str(),
            ][..],
            &data,
            &[
                "--plot",
                png.as_str(),
                "--epochs",
                "3",
                "--dim",
                "8",
                "--hidden",
                "16",
            ],
            &["--batch", "8", "--per-batch-class", "2"],
            extra,
            &MODEL,
            &small,
        ]
        .concat();
        rvcnn(&args)
    };
    let out = train(&[]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("embedding 24 images") && err.contains("epoch   3/3"),
        "{err}"
    );
    for f in [&head, &cache, &png] {
        assert!(std::path::Path::new(f).exists(), "{f}");
    }
    // Same data and model: the cached embeddings are reused.
    let out = train(&["--loss", "infonce"]);
    let err = text(&out.stderr);
    assert!(
        out.status.success() && err.contains("24 embeddings from"),
        "{err}"
    );
    // `--data` spells the positional argument too (the same cache key).
    let args = [
        &["train", "--data", idx.as_str(), "--out", head.as_str()][..],
        &data,
        &["--cache", cache.as_str(), "--epochs", "1", "--dim", "8"],
        &MODEL,
        &small,
    ];
    let out = rvcnn(&args.concat());
    let err = text(&out.stderr);
    assert!(
        out.status.success() && err.contains("24 embeddings from"),
        "{err}"
    );
    let eval =
        |extra: &[&str]| rvcnn(&[&["eval", idx.as_str()][..], &data, extra, &small].concat());
    let out = eval(&[&["--head", head.as_str()][..], &MODEL].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let so = text(&out.stdout);
    let want =
        so.contains("recall@1") && so.contains("24 images, 4 classes") && so.contains("+head:");
    assert!(want, "{so}");
    let out = eval(&[&["--per-class", "2"][..], &MODEL].concat());
    assert!(
        text(&out.stdout).contains("8 images"),
        "{}",
        text(&out.stdout)
    );
    // The head on images of another source; a head of the wrong width is refused.
    let args = [
        &[
            "embed",
            photos.as_str(),
            "--out",
            jsonl.as_str(),
            "--head",
            head.as_str(),
        ][..],
        &MODEL,
        &small,
    ];
    let out = rvcnn(&args.concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = std::fs::read_to_string(&jsonl).unwrap();
    let line = first.lines().next().unwrap();
    assert_eq!(
        line.split("\"embedding\":[")
            .nth(1)
            .unwrap()
            .matches(',')
            .count(),
        7,
        "{line}"
    );
    let v2 = [
        "--model",
        "mobilenetv2",
        "--random-init",
        "3",
        "--head",
        head.as_str(),
    ];
    let out = eval(&v2);
    let err = text(&out.stderr);
    assert!(
        !out.status.success() && err.contains("head takes 576-d"),
        "{err}"
    );
    // Fine-tuning the last conv too: writes a backbone that loads with --weights.
    let tuned = s(dir.join("tuned.safetensors"));
    let head2 = s(dir.join("head2.safetensors"));
    let args = [
        &[
            "train",
            idx.as_str(),
            "--finetune",
            "--finetune-blocks",
            "2",
            "--out-backbone",
            tuned.as_str(),
        ][..],
        &data,
        &[
            "--out",
            head2.as_str(),
            "--epochs",
            "2",
            "--dim",
            "8",
            "--batch",
            "8",
            "--per-batch-class",
            "2",
        ],
        &MODEL,
        &small,
    ];
    let out = rvcnn(&args.concat());
    let err = text(&out.stderr);
    assert!(
        out.status.success() && err.contains("tuned backbone written"),
        "{err}"
    );
    let out = eval(&["--weights", tuned.as_str(), "--head", head2.as_str()]);
    assert!(
        out.status.success() && text(&out.stdout).contains("recall@1"),
        "{}",
        text(&out.stderr)
    );
    let out = rvcnn(
        &[
            &["train", idx.as_str(), "--finetune", "--out", head2.as_str()][..],
            &data,
            &MODEL,
        ]
        .concat(),
    );
    assert!(
        !out.status.success() && text(&out.stderr).contains("out-backbone"),
        "{}",
        text(&out.stderr)
    );
    // SimCLR: no labels needed (a plain folder of photos); refuses the cache.
    let sim = s(dir.join("simclr.safetensors"));
    let args = [
        &[
            "train",
            photos.as_str(),
            "--simclr",
            "--out",
            sim.as_str(),
            "--epochs",
            "2",
        ][..],
        &["--batch", "2", "--dim", "4", "--hidden", "8"],
        &MODEL,
        &small,
    ];
    let out = rvcnn(&args.concat());
    let err = text(&out.stderr);
    assert!(
        out.status.success() && err.contains("NtXent") && err.contains("epoch   2/2"),
        "{err}"
    );
    let out = rvcnn(&[&args.concat()[..], &["--cache", cache.as_str()]].concat());
    assert!(
        !out.status.success() && text(&out.stderr).contains("--simclr"),
        "{}",
        text(&out.stderr)
    );
    // IDX data needs its labels.
    let out = rvcnn(&[&["train", idx.as_str(), "--out", head.as_str()][..], &MODEL].concat());
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("--labels"), "{err}");
}
