"""Lesson 6 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

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

# Exercise 2: counting whole layers by `layer.trainable`: right for Dense, wrong for BatchNormalization,
# whose trainable layer also holds non-trainable moving statistics.
COUNT_PER_LAYER = '''
def count_params(model):
    trainable = sum(layer.count_params() for layer in model.layers if layer.trainable)
    non_trainable = sum(layer.count_params() for layer in model.layers if not layer.trainable)
    return trainable, non_trainable
'''

WRONG_ANSWERS = [
    WrongAnswer(
        student="raw_tf_variables",
        answers={"scale_and_shift": RAW_TF_VARIABLES},
        fails=frozenset({"test_scale_and_shift_weights", "test_scale_and_shift_summary",
                         "test_scale_and_shift_fit"}),
        feedback=("trainable_weights holds [], expected ['scale']",   # the weights test
                  "Keras does not track it",                          # the tracker, in the fit test
                  "Create it with `self.add_weight(...)`"),
    ),
    WrongAnswer(
        student="count_per_layer",
        answers={"count_params": COUNT_PER_LAYER},
        fails=frozenset({"test_count_params_batchnorm"}),
        feedback=("moving_mean and moving_variance are non-trainable", "not whole layers"),
    ),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)
