//! `rvcnn train`: trains a projection head on the frozen backbone's embeddings of an image
//! set — supervised pairs from the labels, or with `--simclr` two random augmentations of each
//! image (no labels needed; see `ruvector_cnn_model::contrastive::train`) — prints the loss per
//! epoch, saves the head (`--out`, for `--head` of embed/eval/search) and optionally the loss
//! curve as PNG.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args as ClapArgs, ValueEnum};
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::contrastive::{
    Augment, Distance, EpochStats, HeadKind, Mining, OptimizerKind, ProjectionHead, Tail,
    TrainConfig, TrainEvent, TrainLoss, TripletOptions, train_finetune, train_simclr,
    train_supervised,
};
use ruvector_cnn_model::preprocess::Scratch;
use ruvector_cnn_model::{ImageView, PixelFormat, Workspace};

use crate::dataset::DataArgs;
use crate::embed::run_parallel;
use crate::model_args::ModelArgs;
use crate::progress::Progress;
use crate::{CliResult, plot, store};

/// Loss of `rvcnn train`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LossArg {
    /// Symmetric InfoNCE over same-class pairs (distinct classes per batch).
    Infonce,
    /// NT-Xent (SimCLR) over same-class pairs.
    Ntxent,
    /// Triplet loss on P×K batches.
    Triplet,
}

/// Optimiser of `rvcnn train`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerArg {
    /// AdamW.
    Adam,
    /// SGD with momentum 0.9.
    Sgd,
}

/// Head shape of `rvcnn train`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HeadArg {
    /// One Linear layer.
    Linear,
    /// Linear → ReLU → Linear.
    Mlp,
}

/// Arguments of `rvcnn train`.
#[derive(ClapArgs)]
pub struct Args {
    /// The images (labelled, except for --simclr).
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to save the trained head (.safetensors).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The loss (default: triplet; ntxent with --simclr).
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Self-supervised: positives are two SimCLR augmentations of the same image (random
    /// resized crop, flip, colour jitter, grayscale), embedded by the backbone every step.
    #[arg(long, conflicts_with = "finetune")]
    pub simclr: bool,
    /// Also train the backbone's last convolution and its last --finetune-blocks blocks
    /// (f32 models; every step runs the frozen layers below on the batch's images); the tuned
    /// backbone is written to --out-backbone.
    #[arg(long, requires = "out_backbone")]
    pub finetune: bool,
    /// Inverted-residual blocks below the last convolution that --finetune also trains.
    #[arg(long, default_value_t = 0, requires = "finetune")]
    pub finetune_blocks: usize,
    /// Where --finetune writes the tuned backbone (.safetensors, torchvision keys; use it
    /// with --weights, together with the head).
    #[arg(long, value_name = "FILE")]
    pub out_backbone: Option<PathBuf>,
    /// Passes over the data.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Pairs (infonce, ntxent) or rows (triplet) per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Peak learning rate (cosine schedule, one warm-up epoch).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Optimiser.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerArg,
    /// Weight decay.
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    /// Head shape.
    #[arg(long = "head-kind", value_enum, default_value = "mlp")]
    pub head_kind: HeadArg,
    /// Output width of the head.
    #[arg(long, default_value_t = 128)]
    pub dim: usize,
    /// Hidden width of an MLP head.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Temperature of infonce / ntxent.
    #[arg(long, default_value_t = 0.1)]
    pub temperature: f64,
    /// Margin of triplet.
    #[arg(long, default_value_t = 0.2)]
    pub margin: f64,
    /// Triplet mining.
    #[arg(long, value_enum, default_value = "all")]
    pub mining: MiningArg,
    /// Triplet distance.
    #[arg(long, value_enum, default_value = "cosine")]
    pub distance: DistanceArg,
    /// Images per class in a triplet batch.
    #[arg(long, default_value_t = 4)]
    pub per_batch_class: usize,
    /// Seed of the initialisation and the batches.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the loss per epoch as a PNG chart.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Keep the backbone embeddings in this .npy file and reuse them when data, class limit
    /// and model match.
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Model options (the backbone; --head is not used here).
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Triplet mining argument.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MiningArg {
    /// Every valid triplet.
    All,
    /// Hardest positive and negative per anchor.
    Hard,
}

/// Triplet distance argument.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DistanceArg {
    /// 1 − cosine similarity.
    Cosine,
    /// Euclidean.
    Euclidean,
}

/// The `.key` file beside a cache.
fn key_file(cache: &Path) -> PathBuf {
    let mut p = cache.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

/// Backbone embeddings and labels: from the cache when its key matches, else computed (and
/// cached when asked).
fn embeddings(args: &Args) -> CliResult<(Vec<u32>, Vec<f32>, usize, String)> {
    let set = args.data.load()?;
    let embedder = args.model.embedder(set.paths())?;
    let label = args.model.label(&embedder);
    let key = format!(
        "{}\n{:?}\n{label}\n{}\n",
        args.data.path()?.display(),
        args.data.per_class,
        set.len()
    );
    if let Some(cache) = &args.cache
        && std::fs::read_to_string(key_file(cache)).is_ok_and(|k| k == key)
    {
        let index = store::read(cache)?;
        let labels = index
            .paths
            .iter()
            .map(|l| {
                l.parse::<u32>()
                    .map_err(|_| format!("{}: bad label `{l}`", cache.display()))
            })
            .collect::<CliResult<Vec<u32>>>()?;
        eprintln!(
            "rvcnn: {} embeddings from {}",
            labels.len(),
            cache.display()
        );
        return Ok((labels, index.vectors, index.dim, label));
    }
    eprintln!("rvcnn: embedding {} images [{label}]", set.len());
    let (labels, vectors) = set.embed(&embedder, args.model.threads);
    if vectors.is_empty() {
        return Err("no image could be embedded".into());
    }
    let dim = embedder.dim();
    if let Some(cache) = &args.cache {
        let names: Vec<PathBuf> = labels
            .iter()
            .map(|l| PathBuf::from(l.to_string()))
            .collect();
        store::write(cache, &names, &vectors, dim, &label)?;
        std::fs::write(key_file(cache), &key).map_err(|e| format!("{}: {e}", cache.display()))?;
    }
    Ok((labels, vectors.concat(), dim, label))
}

/// Runs `f(j)` for `j < jobs` on `threads` workers and writes the results into consecutive
/// `width`-float blocks of `out`.
fn gather(
    out: &mut [f32],
    width: usize,
    jobs: usize,
    threads: usize,
    f: impl Fn(usize) -> CliResult<Vec<f32>> + Sync,
) -> ruvector_cnn_model::Result<()> {
    let rows = run_parallel(jobs, threads, false, f);
    for (block, r) in out.chunks_exact_mut(width).zip(rows) {
        block.copy_from_slice(&r.map_err(ruvector_cnn_model::Error::InvalidArgument)?);
    }
    Ok(())
}

fn announce(head: &ProjectionHead, images: usize, loss: &TrainLoss) {
    eprintln!(
        "rvcnn: training a {:?} head {} -> {} ({} parameters) on {images} images, {loss:?}",
        head.kind(),
        head.input_dim(),
        head.output_dim(),
        head.parameter_count(),
    );
}

/// SimCLR: every step augments and embeds `2 × batch` views with the backbone.
fn simclr(
    args: &Args,
    kind: HeadKind,
    config: &TrainConfig,
    report: impl FnMut(&TrainEvent),
) -> CliResult<(ProjectionHead, Vec<EpochStats>, String)> {
    let set = args.data.load()?;
    let embedder = args.model.embedder(set.paths())?;
    let backbone = args.model.label(&embedder);
    let mut head = ProjectionHead::new(kind, embedder.dim(), args.dim, args.seed)
        .map_err(|e| e.to_string())?;
    announce(&head, set.len(), &config.loss);
    let aug = Augment::simclr(args.model.size);
    let dim = embedder.dim();
    let embed = |jobs: &[(usize, u64)], out: &mut [f32]| {
        gather(out, dim, jobs.len(), args.model.threads, |j| {
            let (i, seed) = jobs[j];
            set.with_image(i, |v| {
                let mut rgb = Vec::new();
                aug.apply(v, seed, &mut rgb).map_err(|e| e.to_string())?;
                let view = ImageView::packed(&rgb, aug.size, aug.size, PixelFormat::Rgb8)
                    .map_err(|e| e.to_string())?;
                embedder.embed(&view).map_err(|e| e.to_string())
            })
        })
    };
    let stats =
        train_simclr(&mut head, set.len(), embed, config, report).map_err(|e| e.to_string())?;
    Ok((head, stats, backbone))
}

/// Fine-tuning: the last convolution and the head, on label-sampled batches whose frozen
/// trunk activations are computed every step.
fn finetune(
    args: &Args,
    kind: HeadKind,
    config: &TrainConfig,
    report: impl FnMut(&TrainEvent),
) -> CliResult<(ProjectionHead, Vec<EpochStats>, String)> {
    let set = args.data.load()?;
    let weights = args.model.weights()?;
    let embedder = args.model.embedder_from(&weights, set.paths())?;
    let net = embedder
        .network()
        .ok_or("--finetune trains f32 models (drop --int8)")?;
    let backbone = args.model.label(&embedder);
    let blocks = args.finetune_blocks;
    let mut tail = Tail::from_weights(net.arch(), net.width_mult(), &weights, blocks)
        .map_err(|e| e.to_string())?;
    let mut head = ProjectionHead::new(kind, tail.last.cout(), args.dim, args.seed)
        .map_err(|e| e.to_string())?;
    announce(&head, set.len(), &config.loss);
    let pre = embedder.options().preprocess;
    let shape = Nhwc::new(1, pre.size, pre.size, 3);
    // The frozen trunk's output (the tail's input) of image `i` and its (height, width);
    // workspaces are kept for the next image rather than allocated per image.
    let spare: Mutex<Vec<(Workspace, Scratch)>> = Mutex::new(Vec::new());
    let trunk_of = |i: usize| -> CliResult<(Vec<f32>, (usize, usize))> {
        let (mut ws, mut scratch) = spare
            .lock()
            .map_err(|e| e.to_string())?
            .pop()
            .unwrap_or_default();
        let result = set.with_image(i, |v| {
            let mut x = vec![0f32; pre.tensor_len()];
            pre.run(v, &mut x, &mut scratch)
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            let hw = net
                .tail_input(blocks, shape, &x, &mut ws, &mut out)
                .map_err(|e| e.to_string())?;
            Ok((out, hw))
        });
        spare.lock().map_err(|e| e.to_string())?.push((ws, scratch));
        result
    };
    let (first, hw) = trunk_of(0)?;
    let per_image = first.len();
    let trunk = |items: &[usize], out: &mut [f32]| {
        gather(out, per_image, items.len(), args.model.threads, |j| {
            trunk_of(items[j]).map(|(acts, _)| acts)
        })
    };
    let labels = set.labels().to_vec();
    let stats = train_finetune(&mut head, &mut tail, &labels, hw, trunk, config, report)
        .map_err(|e| e.to_string())?;
    let out = args
        .out_backbone
        .as_ref()
        .ok_or("--finetune needs --out-backbone")?;
    let tuned = tail.export(&weights).map_err(|e| e.to_string())?;
    let bytes = tuned.to_safetensors().map_err(|e| e.to_string())?;
    std::fs::write(out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("rvcnn: tuned backbone written to {}", out.display());
    Ok((
        head,
        stats,
        format!("{backbone} (fine-tuned: {})", out.display()),
    ))
}

/// Runs `rvcnn train`.
pub fn run(args: &Args) -> CliResult {
    if args.model.head.is_some() {
        return Err("--head applies to embed/eval/search; train writes a head with --out".into());
    }
    if args.cache.is_some() && (args.simclr || args.finetune) {
        return Err(
            "--cache holds fixed embeddings; --simclr and --finetune compute new ones every step"
                .into(),
        );
    }
    let kind = match args.head_kind {
        HeadArg::Linear => HeadKind::Linear,
        HeadArg::Mlp => HeadKind::Mlp {
            hidden: args.hidden,
        },
    };
    let default = if args.simclr {
        LossArg::Ntxent
    } else {
        LossArg::Triplet
    };
    let loss = match args.loss.unwrap_or(default) {
        LossArg::Infonce => TrainLoss::InfoNce {
            tau: args.temperature,
        },
        LossArg::Ntxent => TrainLoss::NtXent {
            tau: args.temperature,
        },
        LossArg::Triplet => TrainLoss::Triplet {
            options: TripletOptions {
                margin: args.margin,
                distance: match args.distance {
                    DistanceArg::Cosine => Distance::Cosine,
                    DistanceArg::Euclidean => Distance::Euclidean,
                },
                mining: match args.mining {
                    MiningArg::All => Mining::All,
                    MiningArg::Hard => Mining::Hard,
                },
            },
            per_class: args.per_batch_class,
        },
    };
    let config = TrainConfig {
        loss,
        epochs: args.epochs,
        batch: args.batch,
        optimizer: match args.optimizer {
            OptimizerArg::Adam => OptimizerKind::ADAM,
            OptimizerArg::Sgd => OptimizerKind::SGD,
        },
        weight_decay: args.weight_decay,
        lr: args.lr,
        warmup_epochs: usize::from(args.epochs > 1),
        seed: args.seed,
    };
    let mut bar: Option<Progress> = None;
    let report = |e: &TrainEvent| match e {
        TrainEvent::Step { step, steps, .. } => {
            if *step == 1 {
                bar = Some(Progress::steps(*steps));
            }
            if let Some(b) = bar.as_mut() {
                b.update(*step);
            }
        }
        TrainEvent::Epoch(s) => eprintln!(
            "epoch {:>3}/{}  loss {:.5}  lr {:.2e}  {:.1} s",
            s.epoch, args.epochs, s.loss, s.lr, s.seconds
        ),
    };
    let (head, stats, backbone) = if args.simclr {
        simclr(args, kind, &config, report)?
    } else if args.finetune {
        finetune(args, kind, &config, report)?
    } else {
        let (labels, x, dim, backbone) = embeddings(args)?;
        let mut head =
            ProjectionHead::new(kind, dim, args.dim, args.seed).map_err(|e| e.to_string())?;
        announce(&head, labels.len(), &config.loss);
        let stats =
            train_supervised(&mut head, &x, &labels, &config, report).map_err(|e| e.to_string())?;
        (head, stats, backbone)
    };
    let mut w = head.to_weights().map_err(|e| e.to_string())?;
    w.set_metadata("backbone", &backbone);
    w.set_metadata("loss", &format!("{loss:?}"));
    let bytes = w.to_safetensors().map_err(|e| e.to_string())?;
    std::fs::write(&args.out, bytes).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!("rvcnn: head written to {}", args.out.display());
    if let Some(p) = &args.plot {
        let losses: Vec<f64> = stats.iter().map(|s| s.loss).collect();
        plot::loss_curve(p, &losses)?;
        eprintln!("rvcnn: loss curve written to {}", p.display());
    }
    Ok(())
}
