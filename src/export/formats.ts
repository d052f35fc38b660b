// The export formats, one file each; importing this module registers them.
import './tfjs.js';
import './onnx.js';
import './pytorch.js';
