"""The GPU check (issue 19): every CUDA path of the rendered projects, run for real on one GPU.

    python -m benchmarks.gpu prepare DIR        # here: copier renders, pip downloads wheels
    python DIR/run_gpu_check.py                 # on the GPU machine: offline, one command
    python -m benchmarks.gpu run DIR --dry-run  # the same run half; CUDA steps reported skipped

`prepare.py` needs copier and the generator; `run_gpu_check.py` needs neither (it is copied
into DIR and runs alone). See the README's "GPU check" section.
"""
