//! Contrastive learning on embeddings: losses with gradients ([`loss`]).

pub mod loss;
pub mod real;

pub use loss::{Distance, LossWorkspace, Mining, TripletOptions, info_nce, nt_xent, triplet};
pub use real::Real;
