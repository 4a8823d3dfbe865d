"""The paper's model: VGG19, its input convention, the losses and the pure objective."""
