"""Lesson 6 graded like a class: empty scores 0, the solution full marks, other correct answers full marks,
each mistake loses exactly its cells, with a message that names the fix."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson06_trainable_params_zero"

# Exercise 1: the colleague's layer handed in unchanged (raw tf.Variables, which Keras 3 does not track).
RAW_TF_VARIABLES = '''
class ScaleAndShift(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = tf.Variable(tf.ones(input_shape[-1]), name="scale")
        self.offset = tf.Variable(tf.zeros(input_shape[-1]), trainable=False, name="offset")

    def call(self, x):
        return (x - self.offset) * self.scale
'''

# Exercise 1: add_weight for both, but the offset left trainable, so fit() trains it.
OFFSET_TRAINABLE = '''
class ScaleAndShift(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")
        self.offset = self.add_weight(name="offset", shape=(input_shape[-1],), initializer="zeros")

    def call(self, x):
        return (x - self.offset) * self.scale
'''

# Exercise 1: the shape of the example (3 features) written in: right for the visible tests only.
FIXED_SHAPE = '''
class ScaleAndShift(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(3,), initializer="ones")
        self.offset = self.add_weight(name="offset", shape=(3,), initializer="zeros", trainable=False)

    def call(self, x):
        return (x - self.offset) * self.scale
'''

# Exercise 2: counting whole layers by `layer.trainable`: right for Dense, wrong for BatchNormalization,
# whose trainable layer also holds non-trainable moving statistics.
COUNT_PER_LAYER = '''
def count_params(model):
    trainable = sum(layer.count_params() for layer in model.layers if layer.trainable)
    non_trainable = sum(layer.count_params() for layer in model.layers if not layer.trainable)
    return trainable, non_trainable
'''

# Exercise 2: the right numbers as NumPy integers (np.prod without int()).
NUMPY_INTS = '''
def count_params(model):
    trainable = sum(np.prod(v.shape) for v in model.trainable_weights)
    non_trainable = sum(np.prod(v.shape) for v in model.non_trainable_weights)
    return trainable, non_trainable
'''

WRONG_ANSWERS = [
    WrongAnswer(
        student="raw_tf_variables",
        answers={"scale_and_shift": RAW_TF_VARIABLES},
        fails=frozenset({"test_scale_and_shift_weights", "test_scale_and_shift_summary",
                         "test_scale_and_shift_fit"}),
        feedback=("create both weights with self.add_weight(name=..., ...): the layer tracks no weight",  # weights
                  "Keras does not track it",                                                         # the tracker
                  "Create it with `self.add_weight(...)`"),
    ),
    WrongAnswer(
        student="offset_left_trainable",
        answers={"scale_and_shift": OFFSET_TRAINABLE},
        fails=frozenset({"test_scale_and_shift_weights", "test_scale_and_shift_summary",
                         "test_scale_and_shift_fit"}),
        feedback=("create offset with self.add_weight(name='offset', ..., trainable=False)",
                  "`exercise_model/scale_and_shift/offset`: expected frozen, but it was updated"),
    ),
    WrongAnswer(
        student="fixed_shape",
        answers={"scale_and_shift": FIXED_SHAPE},
        fails=frozenset({"test_scale_and_shift_weights", "test_scale_and_shift_summary",
                         "test_scale_and_shift_fit"}),
        feedback=("size the weights with input_shape[-1] in build()",),
    ),
    WrongAnswer(
        student="count_per_layer",
        answers={"count_params": COUNT_PER_LAYER},
        fails=frozenset({"test_count_params_batchnorm"}),
        feedback=("count each weight in model.trainable_weights / model.non_trainable_weights, not whole layers",
                  "moving_mean and moving_variance are non-trainable"),
    ),
    WrongAnswer(
        student="numpy_ints",
        answers={"count_params": NUMPY_INTS},
        fails=frozenset({"test_count_params_dense"}),
        feedback=("convert each count with int(...)",),
    ),
]

RIGHT_ANSWERS = [
    # Exercise 1: keras.Variable created in build (tracked, with the layer's path), NumPy initial values.
    RightAnswer(student="keras_variables_in_build", answers={"scale_and_shift": '''
class ScaleAndShift(keras.layers.Layer):
    def build(self, input_shape):
        n = input_shape[-1]
        self.scale = keras.Variable(np.ones(n, "float32"), name="scale")
        self.offset = keras.Variable(np.zeros(n, "float32"), trainable=False, name="offset")

    def call(self, x):
        return (x - self.offset) * self.scale
'''}),
    # Exercise 1: initializer objects, shape input_shape[-1:], the offset's flag set after creation.
    RightAnswer(student="initializer_objects_flag_after", answers={"scale_and_shift": '''
class ScaleAndShift(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=input_shape[-1:], initializer=keras.initializers.Ones(), name="scale")
        self.offset = self.add_weight(shape=input_shape[-1:], initializer=keras.initializers.Constant(0.0),
                                      name="offset")
        self.offset.trainable = False

    def call(self, x):
        return (x - self.offset) * self.scale
'''}),
    # Exercise 2: the trainable count, and the total from model.count_params().
    RightAnswer(student="count_from_total", answers={"count_params": '''
def count_params(model):
    import math
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    return int(trainable), int(model.count_params() - trainable)
'''}),
    # Exercise 2: one walk over model.weights, split by each weight's flag, sizes from keras.ops.size.
    RightAnswer(student="walk_weights_keras_ops", answers={"count_params": '''
def count_params(model):
    counts = [0, 0]
    for v in model.weights:
        counts[0 if v.trainable else 1] += int(keras.ops.size(v))
    return tuple(counts)
'''}),
    # Exercise 2: the student's own walk over the layers, each layer's two lists, NumPy sizes.
    RightAnswer(student="walk_layers_numpy_size", answers={"count_params": '''
def count_params(model):
    trainable = non_trainable = 0
    for layer in model.layers:
        trainable += sum(v.numpy().size for v in layer.trainable_weights)
        non_trainable += sum(v.numpy().size for v in layer.non_trainable_weights)
    return int(trainable), int(non_trainable)
'''}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution and every right answer: full marks; each realistic mistake: exactly its cells lost."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 5 points, exercise 2: 3 points, as the lesson's grading cell says."""
    assert graded.max_points == {"test_scale_and_shift_weights": 2.0, "test_scale_and_shift_summary": 1.0,
                                 "test_scale_and_shift_fit": 2.0, "test_count_params_dense": 2.0,
                                 "test_count_params_batchnorm": 1.0}
