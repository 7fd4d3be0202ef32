//! Contrastive learning on embeddings: losses with gradients ([`loss`]), a trainable
//! projection head ([`head`]), optimisers and the learning-rate schedule ([`optim`]), and
//! supervised training of the head on backbone embeddings ([`train`]).

pub mod augment;
pub mod backprop;
pub mod finetune;
pub mod head;
pub mod loss;
pub mod optim;
pub mod real;
pub mod train;

pub use augment::Augment;
pub use finetune::{LastConv, Tail, train_finetune};
pub use head::{HeadKind, ProjectionHead};
pub use loss::{Distance, LossWorkspace, Mining, TripletOptions, info_nce, nt_xent, triplet};
pub use optim::{CosineSchedule, Optimizer, OptimizerKind};
pub use real::Real;
pub use train::{EpochStats, TrainConfig, TrainEvent, TrainLoss, train_simclr, train_supervised};
