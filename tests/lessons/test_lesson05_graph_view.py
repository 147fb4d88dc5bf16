"""Lesson 5 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

ASSIGNMENT = "lesson05_graph_view"

WRONG_ANSWERS = [
    # Exercise 1: "scale is read by the loss, so it moves" and "stop_gradient does not matter".
    WrongAnswer(
        student="predicts_read_variables_move",
        answers={"prediction": 'prediction = {"w": "updated", "b": "updated", "scale": "updated",\n'
                               '              "shift": "updated", "unused": "frozen", "count": "frozen"}'},
        fails=frozenset({"test_prediction"}),
        feedback=("`scale`: expected updated, but it was frozen", "it has trainable=False",
                  "`shift`: expected updated, but it was frozen", "its gradient is None"),
    ),
    # Exercise 2: a default tape only watches trainable variables, so `scale`'s path is missed.
    WrongAnswer(
        student="default_tape_misses_frozen_path",
        answers={"has_gradient_path": (
            "def has_gradient_path(loss_fn, variables):\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "    grads = tape.gradient(loss, variables)\n"
            "    return {v.name.split(':')[0]: g is not None for v, g in zip(variables, grads)}\n")},
        fails=frozenset({"test_has_gradient_path_frozen"}),
        feedback=("`scale`: you said False, expected True", "a default tape does not watch it"),
    ),
    # Exercise 3: "a path to the loss means it moves", forgetting that the step's tape ignores frozen variables.
    WrongAnswer(
        student="path_means_moves",
        answers={"will_move": (
            "def will_move(loss_fn, variables):\n"
            "    path = has_gradient_path(loss_fn, variables)\n"
            "    return {name: 'updated' if p else 'frozen' for name, p in path.items()}\n")},
        fails=frozenset({"test_will_move_frozen"}),
        feedback=("`scale`: expected updated, but it was frozen", "it has trainable=False"),
        alone=True,  # it calls has_gradient_path: another submission's wrong version of it would mask this one
    ),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)
