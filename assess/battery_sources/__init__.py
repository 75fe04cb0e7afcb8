"""Battery sources outside the project: Hugging Face datasets (:mod:`.hf`)."""
