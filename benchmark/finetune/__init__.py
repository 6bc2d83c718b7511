"""The finetune regime: a sequence classifier on a transformer and the one shared trainer."""
