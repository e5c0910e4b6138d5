# Two commands on a fresh machine:  make run  (set up, open the workbench on the sample)
#                                   make test (set up with test tools, run the whole suite headless)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
SAMPLE  = resources/samples/sample_resampled.png
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

# Packaging (packaging/README.md): make wheel | make bundle | make bundle-test | make deb
BUNDLE_VENV ?= .venv-bundle
BPY          = $(BUNDLE_VENV)/bin/python

.PHONY: run test install clean wheel bundle bundle-test deb

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[gui,test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/check_qt_xcb.py
	$(VENV)/bin/tamper-workbench gui $(SAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

wheel: $(STAMP)
	$(PY) -m build --outdir dist .

# The desktop bundle is built in its own environment (CPU torch, no test tools): dist/tamper-workbench/
bundle:
	test -x $(BPY) || $(PYTHON) -m venv $(BUNDLE_VENV)
	$(BPY) -m pip install --quiet --upgrade pip
	$(BPY) -m pip install --quiet --no-compile -c constraints.txt torch==2.13.0
	$(BPY) -m pip install --quiet -c constraints.txt -e '.[gui,bundle]'
	$(BPY) -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist \
	    --workpath build/pyinstaller packaging/tamper-workbench.spec

bundle-test:
	packaging/smoke_test.sh dist/tamper-workbench

deb:
	packaging/build_deb.sh dist/tamper-workbench dist

clean:
	rm -rf $(VENV) $(BUNDLE_VENV) build dist *.egg-info .pytest_cache
