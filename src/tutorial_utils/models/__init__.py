"""Models used in the book's experiments, one module per family."""

from .depth import DepthCNN, PostActivationBlock, PreActivationBlock, block_removed, depth_layers, plain_cnn, removable_blocks, residual_cnn
from .seed import SeedResidualBlock, SeedResNet
from .bc_resnet import BC_RESNET_MODELS, PUBLISHED_BC_RESNET, BcResBlock, BcResNet, SubSpectralNorm
from .kws import InstanceBatchNorm2d, KWS_MODELS, PUBLISHED_KWS, SPOTTER_MODELS, KwsConfig, KwsResidualBlock, KwsResNet, kws_model, model_summary_table
from .asr import ASR_MODELS, DIGIT_MODEL, ENCODERS, ConvCTC, RecognizerConfig, ResidualBlock1d, SeparableConv1d, SpeechRecognizer, acoustic_model
