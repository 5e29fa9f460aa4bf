"""Models used in the book's experiments, one module per family."""

from .depth import DepthCNN, PostActivationBlock, PreActivationBlock, block_removed, depth_layers, plain_cnn, removable_blocks, residual_cnn
from .seed import SeedResidualBlock, SeedResNet
from .kws import KWS_MODELS, PUBLISHED_KWS, KwsConfig, KwsResidualBlock, KwsResNet, kws_model, model_summary_table
from .asr import ASR_MODELS, DIGIT_MODEL, ENCODERS, ConvCTC, RecognizerConfig, ResidualBlock1d, SeparableConv1d, SpeechRecognizer, acoustic_model
