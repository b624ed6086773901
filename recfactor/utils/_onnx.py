"""Export of a torch module to an ONNX file through ``torch.onnx`` (imports torch)."""

import contextlib
import copy
import io
import logging
import warnings

import torch

_INSTALL_HINT = ("ONNX export needs the onnx and onnxscript packages, and running the file "
                 "needs onnxruntime: `pip install recfactor[onnx]`.")


def export_onnx_graph(module, example_inputs, path, *, input_names, output_names, verbose=0):
    """Write ``module`` (a CPU copy of it, in evaluation mode) to the ONNX file ``path``.

    The first axis of every input is dynamic (a batch of any size); the other axes keep the
    sizes of ``example_inputs``.
    """
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    module = copy.deepcopy(module).cpu().eval()
    batch = torch.export.Dim("batch")
    with contextlib.ExitStack() as quiet:
        if not verbose:
            # The exporter logs its progress and warns about optional operator libraries.
            quiet.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            logger = logging.getLogger("torch.onnx")
            level = logger.level
            logger.setLevel(logging.ERROR)
            quiet.callback(logger.setLevel, level)
            quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
        torch.onnx.export(
            module, tuple(example_inputs), str(path), input_names=list(input_names),
            output_names=list(output_names),
            dynamic_shapes=tuple({0: batch} for _ in example_inputs), dynamo=True,
            verbose=bool(verbose),
        )
    return path
