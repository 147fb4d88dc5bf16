# Convenience targets; each is one `python3 course.py` command (which needs only Python 3.11 and pip).
PY ?= python3

.PHONY: lab test release execute clean check-clean lock env
lab:         ; $(PY) course.py lab
test:        ; $(PY) course.py test
release:     ; $(PY) course.py release
execute:     ; $(PY) course.py execute
clean:       ; $(PY) course.py clean
check-clean: ; $(PY) course.py clean --check
lock:        ; $(PY) course.py lock
env:         ; $(PY) course.py env
