# Spin models of the mutex, condition variable and semaphore protocols
# (models/*.pml, docs/models.md): each correct model must pass its safety and
# liveness checks, and each deliberately broken variant must be caught.

MODELS_BUILD := $(BUILD)/models

.PHONY: models
models:
	$(Q)nice -n 10 scripts/models.sh $(MODELS_BUILD)

CHECK_STEPS += models
HELP_LINES  += "make models     Spin models of mutex, cond, sem: properties hold, bug variants caught"
